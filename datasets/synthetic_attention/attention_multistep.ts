// Task `attention-multistep`: the same heads over several denoising steps (a diffusion
// transformer's attention, non-causal by default) whose q and k drift a little between steps.
// Scored like `attention-fidelity`, plus how much each method's selection changes between steps.
import { defineTask } from "../../bench/metadata.ts";
import type { PreparedCase, TaskContext } from "../../bench/plugin.ts";
import { sha256Hex } from "../../bench/random.ts";
import {
  ACHIEVED_GFLOPS_METRIC,
  ATTENTION_CHECK_SEQ,
  type AttentionShape,
  prepareAttentionCase,
  type ScoredRow,
} from "../../bench/families/attention/mod.ts";
import {
  attentionFidelity,
  checkInputSeed,
  denseRows,
  qualityAgainstDense,
  sampledRows,
} from "./attention_fidelity.ts";
import { syntheticCalibration } from "./calibration.ts";
import {
  type AttentionSeeds,
  DEFAULT_STRUCTURE,
  inputSeed,
  KEY_NORMS_PARAM,
  keyNormsOf,
  modelSeed,
} from "./generator.ts";
import { generateMultistepInputs } from "./multistep_inputs.ts";

/**
 * Heads per step of the input every method's GPU output is checked on in full (of
 * ATTENTION_CHECK_SEQ keys, non-causal: one head keeps its cost near the causal tasks' two).
 */
const CHECK_HEADS = 1;
const CHECK_STEPS = 3;

/** Bytes of one key and its value in float32: what moves when a newly selected key is fetched. */
function kvBytesPerKey(headDim: number): number {
  return 2 * headDim * 4;
}

/**
 * How a method's selections change between adjacent steps, over scored rows that exist at both
 * steps (the same head h and row r at slices s·H + h and (s−1)·H + h):
 * - `selection_overlap`: mean Jaccard index of the two key sets;
 * - `pattern_reuse`: share of those pairs whose key sets are identical;
 * - `kv_bytes_per_step`: mean, per row and step, of the keys selected at step s but not at s−1,
 *   times the bytes of a key and its value (2 × headDim × 4): what an offloaded KV cache would
 *   move to the device.
 *
 * @returns the three figures; zeros when no scored row has a previous step
 */
export function stepReuseMetrics(
  shape: AttentionShape,
  rows: ScoredRow[],
  keysOf: (i: number) => Int32Array,
): Record<string, number> {
  const perStep = shape.heads / (shape.steps ?? 1);
  const index = new Map(rows.map(({ head, row }, i) => [`${head}:${row}`, i]));
  let pairs = 0, jaccard = 0, identical = 0, fresh = 0;
  for (const [i, { head, row }] of rows.entries()) {
    if (head < perStep) continue;
    const prev = index.get(`${head - perStep}:${row}`);
    if (prev === undefined) continue;
    const before = new Set(keysOf(prev));
    const now = keysOf(i);
    let shared = 0;
    for (const key of now) if (before.has(key)) shared++;
    const union = before.size + now.length - shared;
    jaccard += union === 0 ? 1 : shared / union;
    if (shared === now.length && shared === before.size) identical++;
    fresh += now.length - shared;
    pairs++;
  }
  if (pairs === 0) return { selection_overlap: 0, pattern_reuse: 0, kv_bytes_per_step: 0 };
  return {
    selection_overlap: jaccard / pairs,
    pattern_reuse: identical / pairs,
    kv_bytes_per_step: (fresh / pairs) * kvBytesPerKey(shape.headDim),
  };
}

/** One multi-step case: heads per step, steps, and the shape of one step. */
export interface MultistepCase {
  heads: number;
  steps: number;
  seq: number;
  headDim: number;
  causal: boolean;
}

/** The folded shape of a case: `heads` heads at each of `steps` steps. */
export function multistepShape(c: MultistepCase): AttentionShape {
  return {
    heads: c.heads * c.steps,
    seq: c.seq,
    headDim: c.headDim,
    causal: c.causal,
    steps: c.steps,
  };
}

async function prepare(
  caseParams: MultistepCase & { drift: number; keyNorms: string },
  ctx: TaskContext,
): Promise<PreparedCase> {
  const shape = multistepShape(caseParams);
  const drift = caseParams.drift;
  const options = { ...DEFAULT_STRUCTURE, keyNorms: keyNormsOf(caseParams.keyNorms) };
  // One model for the task; planted and randomized cases of one shape share an input seed, so
  // their inputs differ in key norms only.
  const caseKey = { ...shape, drift };
  const seeds = { model: modelSeed(ctx.taskSeed), input: inputSeed(ctx.taskSeed, caseKey) };
  const checkSeeds = { ...seeds, input: checkInputSeed(seeds.input) };
  const inputs = generateMultistepInputs(shape, seeds, drift, options);
  // Held-out prompts to the same model, for the timed shape and the check shape apart.
  const calibrationFor = (on: AttentionShape, evaluated: AttentionSeeds, role: string) =>
    syntheticCalibration({
      task: "synthetic-attention-multistep",
      shape: on,
      taskSeed: ctx.taskSeed,
      caseParams: { ...caseKey, calibrationFor: role },
      seeds: evaluated,
      exclude: [seeds.input, checkSeeds.input],
      variant: JSON.stringify({ ...options, drift }),
      make: (s) => generateMultistepInputs(on, s, drift, options),
    });
  const rows = sampledRows(shape);
  const dense = denseRows(inputs, shape, rows);
  const checkSteps = Math.min(shape.steps!, CHECK_STEPS);
  const checkShape = {
    ...shape,
    heads: CHECK_HEADS * checkSteps,
    seq: ATTENTION_CHECK_SEQ,
    steps: checkSteps,
  };
  return await prepareAttentionCase({
    shape,
    inputs,
    datasetSha256: await sha256Hex(inputs.q, inputs.k, inputs.v),
    rows,
    checkShape,
    checkInputs: generateMultistepInputs(checkShape, checkSeeds, drift, options),
    calibration: calibrationFor(shape, seeds, "timed"),
    checkCalibration: calibrationFor(checkShape, checkSeeds, "check"),
    score: (rowOut, rowKeys) => ({
      ...qualityAgainstDense(rowOut, rowKeys, dense),
      ...stepReuseMetrics(shape, rows, rowKeys),
    }),
  }, ctx);
}

export const attentionMultistep = defineTask({
  id: "attention-multistep",
  family: "attention",
  title: "Attention over drifting denoising steps",
  description:
    "The structured synthetic heads of attention-fidelity over `steps` denoising steps, q, k and v drifting by `drift` between adjacent steps (datasets/synthetic_attention/README.md); steps are folded into heads. Scored against dense per step, plus how much each method's selection changes from step to step.",
  // 2.0.0: key norms randomized by default (1.0.0's inputs are keyNorms=planted).
  // 3.0.0: heads split into model (fixed structure) and input (prompt); held-out calibration.
  version: "3.0.0",
  mainMetric: "rel_l2_error",
  metrics: [
    ...attentionFidelity.meta.metrics.filter((m) => m.name !== ACHIEVED_GFLOPS_METRIC.name),
    {
      name: "selection_overlap",
      description:
        "mean Jaccard index between a sampled row's selected keys at adjacent steps (same head and row)",
      higherIsBetter: true,
    },
    {
      name: "pattern_reuse",
      description:
        "share of adjacent-step pairs of a sampled row whose selected keys are identical",
      higherIsBetter: true,
    },
    {
      name: "kv_bytes_per_step",
      description:
        "keys selected at a step but not at the one before × 2 × headDim × 4 bytes, mean per row and step: what an offloaded KV cache would move to the device",
      higherIsBetter: false,
      unit: "B",
    },
    ACHIEVED_GFLOPS_METRIC,
  ],
  referenceMethod: "dense-attention",
  dataset: {
    id: "synthetic-attention-multistep",
    version: "3.0.0",
    source:
      "generated by datasets/synthetic_attention/multistep_inputs.ts from the run seed (a model seed per task, an input seed per case)",
    license: "CC0-1.0 (generated data)",
    sha256: "80978c1a8769eb131ba809134c963b4db82c5bab48fb23cd163af999cc628605",
  },
  parameters: {
    seq: {
      type: "int",
      description: "sequence length (tokens per step)",
      default: 2048,
      min: 8,
      max: 65536,
      sweep: [1024, 2048],
    },
    heads: {
      type: "int",
      description: "attention heads per step",
      default: 4,
      min: 1,
      max: 64,
      sweep: [4],
    },
    steps: {
      type: "int",
      description: "denoising steps (folded into heads: slice s·heads + h is head h at step s)",
      default: 6,
      min: 2,
      max: 64,
      sweep: [6],
    },
    drift: {
      type: "number",
      description:
        "δ: each step is √(1−δ²)·(previous step) + δ·(a fresh independent draw), for q, k and v",
      default: 0.1,
      min: 0,
      max: 1,
      sweep: [0.05, 0.1, 0.2],
    },
    headDim: {
      type: "int",
      description: "dimension per head (multiple of 4)",
      default: 64,
      min: 4,
      max: 256,
      sweep: [64],
    },
    causal: {
      type: "boolean",
      description: "causal masking (diffusion models attend bidirectionally: off by default)",
      default: false,
      sweep: [false],
    },
    keyNorms: KEY_NORMS_PARAM,
  },
  profiles: {
    smoke: { seq: [131], heads: [1], steps: [3], drift: [0.1] },
    quick: { seq: [512], heads: [2], steps: [6], drift: [0.1] },
    full: { seq: [1024, 4096], steps: [6], drift: [0.05, 0.1, 0.2] },
  },
  // Every profile's cases are non-causal (a causal case, asked for by --param, is refused at bind
  // by methods that do not declare it).
  requiresFeatures: ["non-causal"],
  // The default suite sweeps budgets on attention-fidelity; here every method runs its defaults.
  quickSweep: false,
  impl: { prepare },
});
