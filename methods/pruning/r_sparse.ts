// R-Sparse: training-free activation sparsity for every Linear layer. The input channels that
// matter most for a row go through W's columns exactly, the rest through W's top singular
// components (r_sparse_kernel.ts); each layer's split between the two is searched on
// calibration inputs at the layer's multiply-add budget.
import {
  type Calibration,
  definePruningMethod,
  executedMacShare,
  type PrunableModel,
  truncatedSvd,
  zeroMacCounters,
} from "../../bench/families/pruning/mod.ts";
import { gemm } from "../../bench/nn/gemm.ts";
import type { Linear } from "../../bench/nn/layers.ts";
import { type RSparseFactors, RSparseKernel } from "./r_sparse_kernel.ts";

/** The skipped shares a cell may ask for. */
export const RSPARSE_SPARSITIES = ["40%", "50%", "60%", "70%"] as const;
/** The sparse shares of a layer's budget the search tries: 0, 0.05, …, 1. */
export const ALPHAS: readonly number[] = Array.from({ length: 21 }, (_, i) => i / 20);
/** Calibration rows the search reads per layer at most (every k-th row when there are more). */
export const MAX_SEARCH_ROWS = 4096;

/**
 * A layer's R-Sparse factors at a given threshold and rank: the channel scales ‖W[:, j]‖₂ the
 * threshold compares |x_j| against (the reference code's scale), and W's top `rank` singular
 * triplets (bench/families/pruning truncatedSvd, float64) as Σ_r·V_rᵀ and U_r.
 *
 * @param layer the layer (its effective weight)
 * @param options the threshold and the rank
 * @param svd the layer's SVD, when already taken (rank at least `options.rank`)
 * @returns the factors an {@link RSparseKernel} runs
 */
export function rSparseFactors(
  layer: Linear,
  options: { threshold: number; rank: number },
  svd: { u: Float64Array; s: Float64Array; vt: Float64Array; rank: number } = truncatedSvd(
    layer.weight.effective(),
    layer.outFeatures,
    layer.inFeatures,
    { rank: options.rank },
  ),
): RSparseFactors {
  const n = layer.inFeatures, o = layer.outFeatures, r = options.rank, w = layer.weight.effective();
  const scale = new Float32Array(n);
  for (let j = 0; j < n; j++) {
    let s = 0;
    for (let q = 0; q < o; q++) s += w[q * n + j] ** 2;
    scale[j] = Math.sqrt(s);
  }
  const sv = new Float32Array(r * n), u = new Float32Array(o * r);
  for (let k = 0; k < r; k++) {
    for (let j = 0; j < n; j++) sv[k * n + j] = svd.s[k] * svd.vt[k * n + j];
    for (let q = 0; q < o; q++) u[q * r + k] = svd.u[q * svd.rank + k];
  }
  return { threshold: options.threshold, scale, rank: r, sv, u };
}

/** What the search chose for one layer, and what it measured on the calibration rows. */
export interface RSparsePlan {
  /** Share of the layer's budget spent on exact channels. */
  alpha: number;
  threshold: number;
  rank: number;
  /** Mean exact channels per calibration row. */
  channels: number;
  /** ‖y − ŷ‖² / ‖W·x‖² over the calibration rows. */
  error: number;
}

/**
 * R-Sparse's split for one layer at a multiply-add budget of (1 − sparsity)·in·out per row: for
 * each sparse share α of {@link ALPHAS}, the threshold that makes (1 − sparsity)·α of the
 * calibration channels exact (a quantile of |x_j|·‖W[:, j]‖), and the largest rank the rest of
 * the budget pays for, |S|·out + rank·(in + out) ≤ budget; keeps the α with the smallest output
 * error on the calibration rows, Σ_{k ≥ rank} σ_k²·(v_kᵀ·x_rest)² (the exact channels add none).
 *
 * @param layer the layer
 * @param x its calibration inputs [rows × in]
 * @param sparsity the share of its multiply-adds to skip, in [0, 1)
 * @returns the chosen plan and the factors for it
 * @throws {RangeError} when `sparsity` is outside [0, 1) or `x` has no rows
 */
export function rSparseLayer(
  layer: Linear,
  x: Float32Array,
  sparsity: number,
): { plan: RSparsePlan; factors: RSparseFactors } {
  const n = layer.inFeatures, o = layer.outFeatures, rows = x.length / n;
  if (!(sparsity >= 0 && sparsity < 1)) {
    throw new RangeError(
      `Cannot plan '${layer.weight.name}' as 'sparsity' must be in [0, 1): current value is ${sparsity}`,
    );
  }
  if (!(rows >= 1) || !Number.isInteger(rows)) {
    throw new RangeError(
      `Cannot plan '${layer.weight.name}' without calibration rows of ${n} inputs: got ${x.length} values`,
    );
  }
  const m = Math.min(n, o);
  const svd = truncatedSvd(layer.weight.effective(), o, n);
  const vt = Float32Array.from(svd.vt), s2 = svd.s.map((v) => v * v);
  const { scale } = rSparseFactors(layer, { threshold: 0, rank: 0 }, svd);
  const scores = new Float32Array(rows * n);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < n; j++) scores[r * n + j] = Math.abs(x[r * n + j]) * scale[j];
  }
  const sorted = scores.slice().sort();
  const y = new Float32Array(rows * o);
  gemm({ m: rows, n: o, k: n, a: x, b: layer.weight.effective(), c: y, transB: true });
  let energy = 0;
  for (const v of y) energy += v * v;
  const budget = (1 - sparsity) * n * o;
  const rest = new Float32Array(rows * n), z = new Float32Array(rows * m);
  let best: RSparsePlan | null = null;
  for (const alpha of ALPHAS) {
    const keep = Math.round((1 - sparsity) * alpha * scores.length);
    const threshold = keep <= 0
      ? Infinity
      : keep >= scores.length
      ? -Infinity
      : sorted[scores.length - keep - 1];
    let exact = 0;
    for (let i = 0; i < scores.length; i++) {
      const sparse = scores[i] > threshold;
      rest[i] = sparse ? 0 : x[i];
      exact += sparse ? 1 : 0;
    }
    const channels = exact / rows;
    const rank = Math.max(0, Math.min(m, Math.floor((budget - channels * o) / (n + o))));
    gemm({ m: rows, n: m, k: n, a: rest, b: vt, c: z, transB: true });
    let err = 0;
    for (let r = 0; r < rows; r++) {
      for (let k = rank; k < m; k++) err += s2[k] * z[r * m + k] ** 2;
    }
    const error = energy > 0 ? err / energy : err;
    if (!best || error < best.error) best = { alpha, threshold, rank, channels, error };
  }
  return { plan: best!, factors: rSparseFactors(layer, best!, svd) };
}

/** Every `stride`-th input row a layer sees, at most `cap`. */
function collectRows(layer: Linear, stride: number, cap: number) {
  const f = layer.inFeatures, rows = new Float32Array(cap * f);
  let seen = 0, kept = 0;
  const hook = (x: Float32Array, n: number) => {
    for (let r = 0; r < n; r++, seen++) {
      if (seen % stride === 0 && kept < cap) rows.set(x.subarray(r * f, (r + 1) * f), f * kept++);
    }
  };
  layer.inputHooks.push(hook);
  return {
    detach: () => void layer.inputHooks.splice(layer.inputHooks.indexOf(hook), 1),
    rows: () => rows.subarray(0, kept * f),
  };
}

/** The part of a weight name a metric uses: "blocks.0.mlp.fc.weight" → "blocks_0_mlp_fc". */
function stem(weightName: string): string {
  return weightName.replace(/\.weight$/, "").toLowerCase().replace(/[^a-z0-9]+/g, "_")
    .replace(/^_+|_+$/g, "") || "layer";
}

/**
 * R-Sparse on a model: one calibration pass through the dense model gathers every prunable
 * layer's inputs, each layer is planned at (1 − sparsity) of its multiply-adds
 * ({@link rSparseLayer}) and gets its kernel; a second pass with the kernels installed measures
 * what they skip.
 *
 * @param model the model; every Linear layer gets a kernel
 * @param calibration training rows, run forward through the model
 * @param options the share of every layer's multiply-adds to skip
 * @returns the plans and the metrics the cell publishes
 */
export function rSparsePrune(
  model: Pick<PrunableModel, "linears">,
  calibration: Calibration,
  options: { sparsity: number },
): { plans: RSparsePlan[]; metrics: Record<string, number> } {
  const layers = model.linears();
  const stride = Math.max(1, Math.ceil(calibration.rows / MAX_SEARCH_ROWS));
  const collectors = layers.map((l) =>
    collectRows(l, stride, Math.ceil(calibration.rows / stride))
  );
  try {
    calibration.run();
  } finally {
    for (const c of collectors) c.detach();
  }
  const searchStart = performance.now();
  const kernels: RSparseKernel[] = [], plans: RSparsePlan[] = [];
  layers.forEach((l, i) => {
    const { plan, factors } = rSparseLayer(l, collectors[i].rows(), options.sparsity);
    plans.push(plan);
    kernels.push(new RSparseKernel(l, factors));
  });
  const searchMs = performance.now() - searchStart;
  layers.forEach((l, i) => l.kernel = kernels[i]);

  zeroMacCounters(model);
  calibration.run();
  const metrics: Record<string, number> = {
    skipped_share_calibration: 1 - executedMacShare(model),
    rsparse_search_ms: searchMs,
    rsparse_search_rows: collectors[0].rows().length / layers[0].inFeatures,
  };
  let channels = 0, exact = 0;
  layers.forEach((l, i) => {
    const s = stem(l.weight.name), k = kernels[i], p = plans[i];
    metrics[`skipped_${s}`] = 1 - l.macs.executed / Math.max(1, l.macs.dense);
    metrics[`channels_skipped_${s}`] = 1 -
      k.stats.sparseChannels / Math.max(1, k.stats.rows * l.inFeatures);
    metrics[`rsparse_alpha_${s}`] = p.alpha;
    metrics[`rsparse_rank_${s}`] = p.rank;
    metrics[`rsparse_error_${s}`] = p.error;
    channels += k.stats.rows * l.inFeatures;
    exact += k.stats.sparseChannels;
    k.stats.rows = 0;
    k.stats.sparseChannels = 0;
  });
  metrics.channels_skipped = channels > 0 ? 1 - exact / channels : 0;
  zeroMacCounters(model);
  return { plans, metrics };
}

export const rSparsePruning = definePruningMethod({
  id: "r-sparse",
  family: "pruning",
  title: "R-Sparse (rank-aware activation sparsity)",
  fidelity: {
    level: "simplified",
    reason:
      "R-Sparse's threshold and low-rank path, but α chosen per layer by a greedy local search instead of the paper's evolutionary search",
  },
  description:
    "Training-free activation sparsity in every Linear layer: per input row, the channels with |x_j|·‖W[:, j]‖ above the layer's threshold are computed exactly through W's columns, the rest through W's top-r singular components, y ≈ W_S·x_S + U_r·(Σ_r·(V_rᵀ·x_rest)) + b, at |S|·out + r·(in + out) multiply-adds per row. Every layer gets (1 − sparsity) of its dense multiply-adds; its split between exact channels and rank is searched on its calibration inputs (21 shares of the budget, the smallest output error kept).",
  paper: {
    title: "R-Sparse: Rank-Aware Activation Sparsity for Efficient LLM Inference",
    year: 2025,
    link: "https://arxiv.org/abs/2504.19449",
  },
  version: "1.0.0",
  parameters: {
    sparsity: {
      type: "enum",
      description:
        "share of every prunable layer's dense multiply-adds skipped per input on average (so of the model's too)",
      values: [...RSPARSE_SPARSITIES],
      default: "50%",
      sweep: [...RSPARSE_SPARSITIES],
    },
  },
  capabilities: { requires: [], features: ["mlp", "gpt"] },
  notes:
    "Follows the paper (ICLR 2025) and its reference code (R_Sparse_Linear: the threshold on |x|·scale with scale = ‖(VΣ)[j, :]‖ = ‖W[:, j]‖, set on calibration inputs as the quantile that keeps (1 − s)·α of the channels; rank = ((1 − s)·in·out − channels·out)/(in + out); the low-rank input product over x with the exact channels zeroed) with these departures. (1) Budget search: the paper finds each layer's sparsity s and sparse share α by an evolutionary search on the model's loss; here every layer gets the target s and α is chosen per layer from 0, 0.05, …, 1 by the smallest output reconstruction error on that layer's calibration inputs (a greedy, layer-local search: no layer trades budget with another), and the rank is the largest the rest of the budget pays for given the channels the threshold actually keeps (ties at zero, as in the MLPs' pixels, keep fewer). (2) Every Linear the model lists gets a kernel, the sotu-lm's head and the MLPs' layers included (the paper covers the attention and MLP projections of Llama/Mistral, whose activations are SiLU; sotu-lm's are GELU, the MLPs' ReLU). (3) Prefill vs decode: the reference code runs prefill dense and sparsifies decoding; here every row (every token of a window, every image) runs the kernel. (4) Calibration: one pass of the task's training rows through the dense model (the reference uses one 512-token WikiText-2 window), at most 4,096 rows per layer (every k-th); a second pass with the kernels installed measures the skipped share and the channels skipped (skipped_share_calibration, channels_skipped, per layer skipped_<layer> and channels_skipped_<layer>; rsparse_alpha_/rank_/error_<layer> give the plan). A channel counts as skipped when it does not go the exact way; the low-rank path still reads every channel, so a layer planned at α = 0 (pure low rank, which the search picks for sotu-lm's LayerNorm-fed qkv, fc and head) skips all of them. SVD: the family's truncatedSvd (float64, through the smaller Gram side).",
  impl: {
    target: (params) => ({
      pattern: "activation" as const,
      sparsity: Number(params.sparsity.replace("%", "")) / 100,
    }),
    prune(model, calibration, target) {
      const start = performance.now();
      const { metrics } = rSparsePrune(model, calibration, { sparsity: target.sparsity });
      return Promise.resolve({ pruneMs: performance.now() - start, metrics });
    },
  },
});
