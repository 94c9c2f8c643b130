// Task `attention-fidelity`: how close a sparse attention method stays to dense attention on
// structured synthetic heads, and how much faster it runs, in the same run on the same device.
import { defineTask } from "../../bench/metadata.ts";
import type { PreparedCase, TaskContext } from "../../bench/plugin.ts";
import { sha256Hex } from "../../bench/random.ts";
import { bootstrapInterval } from "../../bench/stats.ts";
import {
  ACHIEVED_GFLOPS_METRIC,
  attendRow,
  ATTENTION_CALIBRATION_METRICS,
  ATTENTION_CHECK_SEQ,
  ATTENTION_GATE_METRICS,
  type AttentionCalibration,
  type AttentionInputs,
  type AttentionShape,
  denseKeys,
  matchDensity,
  prepareAttentionCase,
  queryCount,
  type ScoredRow,
} from "../../bench/families/attention/mod.ts";
import { syntheticCalibration } from "./calibration.ts";
import {
  type AttentionSeeds,
  DEFAULT_STRUCTURE,
  generateAttentionInputs,
  inputSeed,
  KEY_NORMS_PARAM,
  type KeyNorms,
  keyNormsOf,
  modelSeed,
} from "./generator.ts";

/** Query rows per head whose outputs are scored against dense on the CPU. */
const SAMPLED_ROWS_PER_HEAD = 32;
/** Heads of the check input every method's GPU output is checked on in full. */
const CHECK_HEADS = 2;
/** Decoding steps of the check input of a decoding case. */
const CHECK_DECODE_STEPS = 5;

/** Evenly spaced rows, first and last included, in every head. */
export function sampledRows(shape: AttentionShape, perHead = SAMPLED_ROWS_PER_HEAD): ScoredRow[] {
  const rows: ScoredRow[] = [];
  const queries = queryCount(shape);
  const count = Math.min(perHead, queries);
  for (let head = 0; head < shape.heads; head++) {
    const seen = new Set<number>();
    for (let i = 0; i < count; i++) {
      const row = count === 1 ? queries - 1 : Math.round((i * (queries - 1)) / (count - 1));
      if (!seen.has(row)) rows.push({ head, row });
      seen.add(row);
    }
  }
  return rows;
}

/** Dense outputs and softmax weights of the sampled rows, the yardstick for quality. */
export interface DenseRows {
  out: Float64Array[];
  weights: Float64Array[];
}

export function denseRows(
  inputs: AttentionInputs,
  shape: AttentionShape,
  rows: ScoredRow[],
): DenseRows {
  const out: Float64Array[] = [];
  const weights: Float64Array[] = [];
  for (const { head, row } of rows) {
    const r = attendRow(shape, inputs, { head, row, keys: denseKeys(shape, row) });
    out.push(r.out);
    weights.push(r.weights);
  }
  return { out, weights };
}

/**
 * Quality of a method's rows against dense: relative L2 error of the outputs, and the share of
 * dense attention mass that falls on the keys the method attends to; each with a 95% interval
 * from a seeded bootstrap over the sampled rows (how much the figure depends on which rows).
 */
export function qualityAgainstDense(
  methodOut: (i: number) => ArrayLike<number>,
  methodKeys: (i: number) => Int32Array,
  dense: DenseRows,
): Record<string, number> {
  const rows = dense.out.length;
  const errSq = new Float64Array(rows);
  const refSq = new Float64Array(rows);
  const mass = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    const o = methodOut(i);
    const ref = dense.out[i];
    for (let j = 0; j < ref.length; j++) {
      errSq[i] += (o[j] - ref[j]) ** 2;
      refSq[i] += ref[j] ** 2;
    }
    for (const key of methodKeys(i)) mass[i] += dense.weights[i][key] ?? 0;
  }
  // Both figures are statistics of a set of rows: the bootstrap resamples row indices.
  const error = (picked: readonly number[]) => {
    let e = 0, r = 0;
    for (const i of picked) {
      e += errSq[i];
      r += refSq[i];
    }
    return Math.sqrt(e / r);
  };
  const recall = (picked: readonly number[]) => {
    let m = 0;
    for (const i of picked) m += mass[i];
    return m / picked.length;
  };
  const all = Array.from({ length: rows }, (_, i) => i);
  const [errorLow, errorHigh] = bootstrapInterval(all, error);
  const [recallLow, recallHigh] = bootstrapInterval(all, recall);
  return {
    rel_l2_error: error(all),
    rel_l2_error_ci95_low: errorLow,
    rel_l2_error_ci95_high: errorHigh,
    mass_recall: recall(all),
    mass_recall_ci95_low: recallLow,
    mass_recall_ci95_high: recallHigh,
  };
}

/** Input seed of a case's check input: the evaluated input's seed ^ 0x5eed. */
export function checkInputSeed(seed: number): number {
  return (seed ^ 0x5eed) >>> 0;
}

/** The check input's shape for a case of `shape`: ATTENTION_CHECK_SEQ keys, 2 heads, ≤ 5 queries. */
export function structuredCheckShape(shape: AttentionShape): AttentionShape {
  return {
    ...shape,
    heads: CHECK_HEADS,
    seq: ATTENTION_CHECK_SEQ,
    ...(shape.queries === undefined
      ? {}
      : { queries: Math.min(shape.queries, CHECK_DECODE_STEPS) }),
  };
}

/**
 * The check input of a structured case of `shape`: ATTENTION_CHECK_SEQ keys, 2 heads (the
 * model's heads 0 and 1), at most 5 decoding queries; another prompt to the case's model, input
 * seed {@link checkInputSeed}. A plain number `seeds` stands for that seed as model and input.
 */
export function structuredCheckInput(
  shape: AttentionShape,
  seeds: AttentionSeeds | number,
  keyNorms: KeyNorms = DEFAULT_STRUCTURE.keyNorms,
): { shape: AttentionShape; inputs: AttentionInputs } {
  const { model, input } = typeof seeds === "number" ? { model: seeds, input: seeds } : seeds;
  const checkShape = structuredCheckShape(shape);
  const options = { ...DEFAULT_STRUCTURE, keyNorms };
  return {
    shape: checkShape,
    inputs: generateAttentionInputs(checkShape, { model, input: checkInputSeed(input) }, options),
  };
}

/**
 * The case parameter that asks every method for one realized density: each method's budget knob
 * is tuned on its CPU reference to attend that share of visible keys (`matchDensity`); 0 ("own")
 * runs each method at its own parameters.
 */
export const TARGET_DENSITY_PARAM: {
  type: "number";
  description: string;
  default: number;
  min: number;
  max: number;
  sweep: number[];
  valueLabels: Record<string, string>;
} = {
  type: "number",
  description:
    "realized density every method's budget knob is tuned to (share of visible keys attended, within ±10% on 32 rows per head); 0: each method's own parameters",
  default: 0,
  min: 0,
  max: 1,
  sweep: [0],
  valueLabels: { "0": "own" },
};

/** One structured case's inputs: evaluated, check, and the held-out calibration of each. */
export interface StructuredCase {
  seeds: AttentionSeeds;
  inputs: AttentionInputs;
  check: { shape: AttentionShape; inputs: AttentionInputs };
  calibration: AttentionCalibration;
  checkCalibration: AttentionCalibration;
}

/**
 * The inputs of a structured case of `shape`: the task's model, the case's input seed, its check
 * input, and held-out calibration inputs of the timed and the check shape (other input seeds of
 * the same model: never the evaluated input's nor the check input's).
 *
 * @param shape the case's shape
 * @param taskSeed the run's seed for the task (TaskContext.taskSeed)
 * @param keyNorms how key norms come out
 */
export function structuredCase(
  shape: AttentionShape,
  taskSeed: number,
  keyNorms: KeyNorms = DEFAULT_STRUCTURE.keyNorms,
): StructuredCase {
  // One model for the task; planted and randomized cases of one shape share an input seed, so
  // their inputs differ in key norms only.
  const seeds = { model: modelSeed(taskSeed), input: inputSeed(taskSeed, { ...shape }) };
  const options = { ...DEFAULT_STRUCTURE, keyNorms };
  const inputs = generateAttentionInputs(shape, seeds, options);
  const check = structuredCheckInput(shape, seeds, keyNorms);
  const checkSeeds = { ...seeds, input: checkInputSeed(seeds.input) };
  // Held-out prompts to the same model, for the timed shape and the check shape apart.
  const calibrationFor = (on: AttentionShape, evaluated: AttentionSeeds, role: string) =>
    syntheticCalibration({
      task: "synthetic-attention",
      shape: on,
      taskSeed,
      caseParams: { ...shape, calibrationFor: role },
      seeds: evaluated,
      exclude: [seeds.input, checkSeeds.input],
      variant: JSON.stringify(options),
      make: (s) => generateAttentionInputs(on, s, options),
    });
  const calibration = calibrationFor(shape, seeds, "timed");
  return {
    seeds,
    inputs,
    check,
    calibration,
    checkCalibration: calibrationFor(check.shape, checkSeeds, "check"),
  };
}

/**
 * A case of structured synthetic heads: prefill when `shape.queries` is absent, decoding steps
 * otherwise. Shared by `attention-fidelity` and `attention-decoding`. With a `targetDensity`
 * above 0, every method's budget is tuned to it before the method is bound.
 */
export async function prepareStructuredCase(
  shape: AttentionShape,
  ctx: TaskContext,
  keyNorms: KeyNorms = DEFAULT_STRUCTURE.keyNorms,
  targetDensity = 0,
): Promise<PreparedCase> {
  const { inputs, check, calibration, checkCalibration } = structuredCase(
    shape,
    ctx.taskSeed,
    keyNorms,
  );
  const rows = sampledRows(shape);
  const dense = denseRows(inputs, shape, rows);
  const prepared = await prepareAttentionCase({
    shape,
    inputs,
    datasetSha256: await sha256Hex(inputs.q, inputs.k, inputs.v),
    rows,
    checkShape: check.shape,
    checkInputs: check.inputs,
    calibration,
    checkCalibration,
    score: (rowOut, rowKeys) => qualityAgainstDense(rowOut, rowKeys, dense),
  }, ctx);
  return targetDensity > 0
    ? matchDensity(prepared, { shape, inputs, targetDensity, calibration })
    : prepared;
}

export const attentionFidelity = defineTask({
  id: "attention-fidelity",
  family: "attention",
  title: "Attention fidelity on structured synthetic heads",
  description:
    "Seeded q, k, v with attention sinks, a local diagonal and a few strong far tokens (datasets/synthetic_attention/README.md). Each method's output is compared with dense attention on sampled rows.",
  // 2.0.0: key norms randomized by default (1.0.0's inputs are keyNorms=planted).
  // 3.0.0: heads split into model (fixed structure) and input (prompt); held-out calibration.
  version: "3.0.0",
  mainMetric: "rel_l2_error",
  metrics: [
    {
      name: "rel_l2_error",
      description: "‖o − o_dense‖₂ / ‖o_dense‖₂ over 32 sampled query rows per head",
      higherIsBetter: false,
    },
    {
      name: "mass_recall",
      description:
        "share of dense softmax mass on the keys the method attends to, mean over sampled rows",
      higherIsBetter: true,
    },
    ...ATTENTION_GATE_METRICS,
    ...ATTENTION_CALIBRATION_METRICS,
    ACHIEVED_GFLOPS_METRIC,
  ],
  referenceMethod: "dense-attention",
  dataset: {
    id: "synthetic-attention",
    version: "3.0.0",
    source:
      "generated by datasets/synthetic_attention/generator.ts from the run seed (a model seed per task, an input seed per case)",
    license: "CC0-1.0 (generated data)",
    sha256: "5ba9a8129d63d6b7d2a71cf998784cb902bee9d66aec140c368971ddb557b8e5",
  },
  parameters: {
    seq: {
      type: "int",
      description: "sequence length",
      default: 2048,
      min: 8,
      max: 65536,
      sweep: [512, 2048],
    },
    heads: { type: "int", description: "attention heads", default: 8, min: 1, max: 64, sweep: [8] },
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
      description: "causal (prefill) masking",
      default: true,
      sweep: [true],
    },
    keyNorms: KEY_NORMS_PARAM,
    targetDensity: TARGET_DENSITY_PARAM,
  },
  profiles: {
    smoke: { seq: [131], heads: [2], causal: [true] },
    quick: { seq: [1024], heads: [4], causal: [true] },
    // Planted norms too, so a method that ranks keys by ‖k‖ (NOSA's stand-in) shows on both.
    full: {
      seq: [512, 2048, 4096, 8192, 16384],
      causal: [true, false],
      keyNorms: ["randomized", "planted"],
    },
  },
  // Methods compared at matched realized density: quick at one small shape, full at seq 8192.
  matchedBudget: {
    param: "targetDensity",
    own: 0,
    cases: {
      quick: { seq: [1024], heads: [4], targetDensity: [0.1] },
      full: { seq: [8192], targetDensity: [0.05, 0.1, 0.2] },
    },
  },
  requiresFeatures: [],
  impl: {
    prepare: (caseParams, ctx) =>
      prepareStructuredCase(
        {
          heads: caseParams.heads,
          seq: caseParams.seq,
          headDim: caseParams.headDim,
          causal: caseParams.causal,
        },
        ctx,
        keyNormsOf(caseParams.keyNorms),
        caseParams.targetDensity,
      ),
  },
});
