// Task `attention-fidelity`: how close a sparse attention method stays to dense attention on
// structured synthetic heads, and how much faster it runs, in the same run on the same device.
import { defineTask } from "../../bench/metadata.ts";
import type { PreparedCase, TaskContext } from "../../bench/plugin.ts";
import { sha256Hex } from "../../bench/random.ts";
import { bootstrapInterval } from "../../bench/stats.ts";
import {
  ACHIEVED_GFLOPS_METRIC,
  attendRow,
  ATTENTION_CHECK_SEQ,
  ATTENTION_GATE_METRICS,
  type AttentionInputs,
  type AttentionShape,
  denseKeys,
  matchDensity,
  prepareAttentionCase,
  queryCount,
  type ScoredRow,
} from "../../bench/families/attention/mod.ts";
import {
  DEFAULT_STRUCTURE,
  generateAttentionInputs,
  KEY_NORMS_PARAM,
  type KeyNorms,
  keyNormsOf,
  structureSeed,
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

/**
 * The check input of a structured case of `shape`: ATTENTION_CHECK_SEQ keys, 2 heads, at most 5
 * decoding queries, generated from the run's seed ^ 0x5eed.
 */
export function structuredCheckInput(
  shape: AttentionShape,
  seed: number,
  keyNorms: KeyNorms = DEFAULT_STRUCTURE.keyNorms,
): { shape: AttentionShape; inputs: AttentionInputs } {
  const checkShape = {
    ...shape,
    heads: CHECK_HEADS,
    seq: ATTENTION_CHECK_SEQ,
    ...(shape.queries === undefined
      ? {}
      : { queries: Math.min(shape.queries, CHECK_DECODE_STEPS) }),
  };
  const options = { ...DEFAULT_STRUCTURE, keyNorms };
  return { shape: checkShape, inputs: generateAttentionInputs(checkShape, seed ^ 0x5eed, options) };
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
  // Planted and randomized cases of one shape share a seed: their inputs differ in key norms only.
  const seed = structureSeed(ctx.taskSeed, { ...shape });
  const inputs = generateAttentionInputs(shape, seed, { ...DEFAULT_STRUCTURE, keyNorms });
  const rows = sampledRows(shape);
  const dense = denseRows(inputs, shape, rows);
  const check = structuredCheckInput(shape, seed, keyNorms);
  const prepared = await prepareAttentionCase({
    shape,
    inputs,
    datasetSha256: await sha256Hex(inputs.q, inputs.k, inputs.v),
    rows,
    checkShape: check.shape,
    checkInputs: check.inputs,
    score: (rowOut, rowKeys) => qualityAgainstDense(rowOut, rowKeys, dense),
  }, ctx);
  return targetDensity > 0 ? matchDensity(prepared, { shape, inputs, targetDensity }) : prepared;
}

export const attentionFidelity = defineTask({
  id: "attention-fidelity",
  family: "attention",
  title: "Attention fidelity on structured synthetic heads",
  description:
    "Seeded q, k, v with attention sinks, a local diagonal and a few strong far tokens (datasets/synthetic_attention/README.md). Each method's output is compared with dense attention on sampled rows.",
  // 2.0.0: key norms randomized by default (1.0.0's inputs are keyNorms=planted).
  version: "2.0.0",
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
    ACHIEVED_GFLOPS_METRIC,
  ],
  referenceMethod: "dense-attention",
  dataset: {
    id: "synthetic-attention",
    version: "2.0.0",
    source: "generated by datasets/synthetic_attention/generator.ts from the run seed",
    license: "CC0-1.0 (generated data)",
    sha256: "bc1d83826e2f32642a288f60ea11f36a735e9a74aad3ac940b75f768df56d038",
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
