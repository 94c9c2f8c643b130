// Truncated SVD at a parameter budget, the low-rank baseline CoSpaDi is compared with: each
// layer's weight W [out × in] becomes U_r·√Σ_r times √Σ_r·V_rᵀ, the rank chosen so the two
// factors store the target share. With `whiten` (SVD-LLM's truncation-aware whitening) the SVD is
// of W·L, L Lᵀ the damped Gram of the layer's calibration inputs, and L⁻¹ is folded back into the
// right factor, so the truncation minimizes the layer's output error instead of its weight error.
import {
  COMPRESSION_PARAM,
  definePruningMethod,
  factorizeLayers,
  inputWhitening,
  type LayerFactors,
  type LayerToFactorize,
  parseCompression,
  truncatedSvd,
  unwhitenRows,
  whitenRows,
} from "../../bench/families/pruning/mod.ts";

/**
 * The rank whose factors [rows × r] and [r × cols] store nearest `budget` values:
 * round(budget / (rows + cols)), at least 1 and at most min(rows, cols).
 *
 * @param rows the layer's outputs
 * @param cols its inputs
 * @param budget values the factors may store, e.g. (1 − compression)·rows·cols
 * @returns the rank
 * @example
 * ```ts
 * import { lowRankRank } from "./svd_lowrank.ts";
 * import { assertEquals } from "../../tests/assert.ts";
 * // 300 × 784 at 30%: 0.7·235,200 / 1,084 = 151.9 → 152, storing 164,768 of 235,200 (70.05%).
 * assertEquals(lowRankRank(300, 784, 0.7 * 300 * 784), 152);
 * ```
 */
export function lowRankRank(rows: number, cols: number, budget: number): number {
  const rank = Math.round(budget / (rows + cols));
  return Math.min(Math.max(rank, 1), Math.min(rows, cols));
}

/** How {@link svdLowRankLayer} factorizes. */
export interface SvdLowRankOptions {
  /** Whether to truncate W·L (output error) rather than W (weight error). */
  whiten: boolean;
  /** Share of the Gram's mean diagonal added to its diagonal before the Cholesky factor. */
  damping: number;
}

/**
 * One layer's truncated SVD within its budget: rank r = {@link lowRankRank}; M = W·L when whitening
 * (L the lower Cholesky factor of G + damping·mean(diag G)·I, G = Σ xᵀx), else M = W;
 * M ≈ U_r·Σ_r·V_rᵀ; left = U_r·√Σ_r, right = √Σ_r·V_rᵀ·L⁻¹ (·I without whitening).
 *
 * @param layer the weights and the calibration Gram
 * @param options whitening and damping
 * @returns the factors, left [rows × r] and right [r × cols], no index data
 * @throws {RangeError} when whitening and the damped Gram is not positive definite
 */
export function svdLowRankLayer(layer: LayerToFactorize, options: SvdLowRankOptions): LayerFactors {
  const { rows, cols, weights } = layer;
  const rank = lowRankRank(rows, cols, layer.budget);
  const lower = options.whiten ? inputWhitening(layer.gram, cols, options.damping) : null;
  const m = lower ? whitenRows(weights, rows, lower) : Float64Array.from(weights);
  const svd = truncatedSvd(m, rows, cols, { rank });
  const left = new Float32Array(rows * rank), scaled = new Float64Array(rank * cols);
  for (let k = 0; k < rank; k++) {
    const root = Math.sqrt(svd.s[k]);
    for (let r = 0; r < rows; r++) left[r * rank + k] = svd.u[r * rank + k] * root;
    for (let c = 0; c < cols; c++) scaled[k * cols + c] = svd.vt[k * cols + c] * root;
  }
  const right = Float32Array.from(lower ? unwhitenRows(scaled, rank, lower) : scaled);
  return { left, right, rank, indexBytes: 0 };
}

export const svdLowRankPruning = definePruningMethod({
  id: "svd-lowrank",
  family: "pruning",
  title: "Truncated SVD (data-aware, SVD-LLM whitening)",
  fidelity: {
    level: "simplified",
    reason:
      "SVD-LLM's whitened truncation exactly; its sequential low-rank parameter update is not done",
  },
  description:
    "Replaces each prunable weight W [out × in] by two dense factors U_r·√Σ_r [out × r] and √Σ_r·V_rᵀ [r × in], the rank r = round(budget/(out + in)) per layer, budget ≈ (1 − compression)·out·in (what earlier layers' rounding left over carried into it), so the factors store the target share. Whitened (default): the SVD is of W·L, L the Cholesky factor of the layer's damped calibration input Gram Σ xᵀx, and L⁻¹ is folded into the right factor, so truncation minimizes the layer's output error on the calibration inputs; unwhitened: the plain SVD of W. Layers in forward order, each from inputs recomputed through the layers factorized before it.",
  paper: {
    title:
      "SVD-LLM: Truncation-aware Singular Value Decomposition for Large Language Model Compression",
    year: 2024,
    link: "https://arxiv.org/abs/2403.07378",
  },
  version: "1.0.0",
  parameters: {
    compression: COMPRESSION_PARAM,
    whiten: {
      type: "boolean",
      description:
        "truncate W·L, L the Cholesky factor of the damped calibration input Gram (SVD-LLM), instead of W itself (plain weight SVD), so the data-aware part is measurable",
      default: true,
      sweep: [true, false],
    },
    damping: {
      type: "number",
      description:
        "share of the input Gram's mean diagonal added to its diagonal before the Cholesky factor (inputs the calibration never excites make the Gram singular)",
      default: 0.01,
      min: 0,
      max: 1,
      sweep: [0.01],
    },
  },
  capabilities: { requires: [], features: ["mlp", "gpt"] },
  notes:
    "Whitening, exactly: G = Σ xᵀx over the layer's calibration inputs (every calibration row, unnormalized, no mean removed), G' = G + damping·mean(diag G)·I with damping 0.01, L the lower Cholesky factor of G' (G' = L·Lᵀ); the SVD is of W·L, since ‖(W − Ŵ)·Xᵀ‖²_F = ‖(W − Ŵ)·L‖²_F for the undamped G; right = √Σ_r·V_rᵀ·L⁻¹ by back substitution. This is SVD-LLM's truncation-aware data whitening (their S with S·Sᵀ = X·Xᵀ, Cholesky); SVD-LLM adds a small multiple of I only when the Cholesky factorization fails, here the relative damping is always added (SparseGPT's convention), so the MNIST MLP's never-lit border pixels need no special case. Not done: SVD-LLM's parameter update with sequential low-rank approximation (its LoRA-style fine-tuning of U and V after truncation) and ASVD's activation-aware diagonal scaling. Rank: one uniform compression per layer (SVD-LLM's default; no per-layer allocation), r = round(budget/(out + in)) clamped to [1, min(out, in)], budget = round((1 − c)·the parameters of this and the earlier layers) − what the earlier layers' factors store, so one layer's rounding is made up in the next and the model ends at the share; with whiten=false the plain weight SVD (Eckart–Young in weight space). The SVD is in float64 via the eigendecomposition of the smaller Gram side (Householder + QL), factors rounded to float32 and the weight set to their float32 product. Order: layers in forward order, each one's Gram from inputs recomputed through the layers factorized before it (SVD-LLM whitens every layer from the dense model's activations); every Linear, the sotu-lm's output head included (SVD-LLM leaves lm_head dense). Metrics: rank_mean, output_error_mean and output_error_max (tr(Δ·G·Δᵀ)/tr(W·G·Wᵀ) per layer on its calibration inputs, Δ = W − left·right).",
  impl: {
    target: (params) => parseCompression(params.compression),
    prune(model, calibration, target, params) {
      const start = performance.now();
      const { factors, outputErrors } = factorizeLayers(model, calibration, {
        share: 1 - target.compression,
        factorize: (layer) =>
          svdLowRankLayer(layer, { whiten: params.whiten, damping: params.damping }),
      });
      const pruneMs = performance.now() - start;
      const ranks = factors.map((f) => f.rank);
      return Promise.resolve({
        pruneMs,
        factors,
        metrics: {
          rank_mean: mean(ranks),
          output_error_mean: mean(outputErrors),
          output_error_max: Math.max(...outputErrors),
        },
      });
    },
  },
});

function mean(values: readonly number[]): number {
  return values.length > 0 ? values.reduce((s, v) => s + v, 0) / values.length : 0;
}
