// SparseGPT's core (Frantar & Alistarh, 2023), shared by the methods built on it (sparsegpt, and
// dsnot on a SparseGPT base): one layer pruned by OBS updates from the upper Cholesky factor of
// its inverse Hessian, and the layer-by-layer loop that gathers each layer's input Gram.
import { collectInputGram } from "../../nn/hooks.ts";
import { upperCholeskyOfInverse } from "./_hessian.ts";
import type { Calibration, MaskTarget, PrunableModel } from "./_interface.ts";
import { keptCount } from "./_targets.ts";

/** One Linear layer's weights, row-major [rows × cols] (rows = outputs, cols = inputs). */
export interface LayerWeights {
  weights: ArrayLike<number>;
  rows: number;
  cols: number;
}

/** What {@link sparseGptLayer} prunes with. */
export interface SparseGptLayerOptions {
  /** Σ xᵀx over the layer's calibration inputs, [cols × cols] (bench/nn/hooks.ts `collectInputGram`). */
  gram: ArrayLike<number>;
  /** Input rows the Gram summed: H = (2 / samples)·Σ xᵀx. */
  samples: number;
  /** What to prune to; sparsity 0 keeps every weight. */
  target: MaskTarget;
  /** Columns per block (default 128); for N:M rounded up to a multiple of M. */
  blockSize?: number;
  /** Share of mean(diag H) added to H's diagonal (default 0.01). */
  damping?: number;
}

/** A layer pruned by {@link sparseGptLayer}. */
export interface SparseGptLayerResult {
  /** The updated weights, pruned ones exactly 0, [rows × cols]. */
  weights: Float32Array;
  /** 1 kept, 0 pruned, [rows × cols]. */
  mask: Float32Array;
  /** Inputs the calibration never excited (H_jj = 0), whose column was zeroed. */
  deadInputs: number[];
  /** The reference code's OBS loss estimate, Σ (w − q)² / [U]_jj² / 2 over the pruned weights. */
  obsLoss: number;
}

/**
 * Prunes one layer with SparseGPT: H = (2/n)·Σ xᵀx, dead inputs (H_jj = 0) set to H_jj = 1 with
 * their column zeroed, damping·mean(diag H) added to the diagonal, U the upper Cholesky factor of
 * H⁻¹; then block by block of columns, the block's mask from w²/[U]_jj² (unstructured: over the
 * whole block, every row together; N:M: at each group's first column, N kept per row), and per
 * column j: err = (w_j − q_j)/[U]_jj with q the kept part, W[:, j:blockEnd] −= err ⊗ U[j,
 * j:blockEnd]; after the block, W[:, blockEnd:] −= Err · U[block, blockEnd:]. Float64 throughout.
 *
 * @param layer the weights as they are now
 * @param options the Gram, its row count, the target, block size and damping
 * @returns the updated weights, the mask, the dead inputs and the OBS loss estimate
 * @throws {RangeError} for inconsistent sizes, no calibration rows, a block size that is not a
 *   positive integer, a negative damping, a sparsity outside [0, 1), or a Hessian that is not
 *   positive definite even after damping
 * @example
 * ```ts
 * import { sparseGptLayer } from "./mod.ts";
 * import { assertEquals } from "../../../tests/assert.ts";
 * // One row [1, 3]; H = Σ xᵀx = [[2, 1], [1, 1]] with n = 2 and no damping. Column 0 scores
 * // 1²/(H⁻¹)₀₀ = 1 against column 1's 3²·H₁₁ = 9: it goes, and column 1 absorbs
 * // w₀·H₀₁/H₁₁ = 1, the least-squares compensation.
 * const out = sparseGptLayer(
 *   { weights: [1, 3], rows: 1, cols: 2 },
 *   { gram: [2, 1, 1, 1], samples: 2, target: { pattern: "unstructured", sparsity: 0.5 }, damping: 0 },
 * );
 * assertEquals([...out.mask], [0, 1]);
 * assertEquals([...out.weights], [0, 4]);
 * ```
 */
export function sparseGptLayer(
  layer: LayerWeights,
  options: SparseGptLayerOptions,
): SparseGptLayerResult {
  const { rows, cols } = layer;
  const { target, samples } = options;
  const blockSize = options.blockSize ?? 128;
  const damping = options.damping ?? 0.01;
  checkLayerInputs(layer, options, blockSize, damping);

  const w = Float64Array.from(layer.weights);
  const h = new Float64Array(cols * cols);
  for (let i = 0; i < h.length; i++) h[i] = (2 / samples) * options.gram[i];
  const deadInputs: number[] = [];
  for (let j = 0; j < cols; j++) {
    if (h[j * cols + j] !== 0) continue;
    deadInputs.push(j);
    h[j * cols + j] = 1;
    for (let r = 0; r < rows; r++) w[r * cols + j] = 0;
  }
  let meanDiag = 0;
  for (let j = 0; j < cols; j++) meanDiag += h[j * cols + j] / cols;
  for (let j = 0; j < cols; j++) h[j * cols + j] += damping * meanDiag;
  let u: Float64Array;
  try {
    u = upperCholeskyOfInverse(h, cols);
  } catch (error) {
    throw new RangeError(
      `Cannot prune a ${rows} × ${cols} layer with SparseGPT as its damped Hessian must be positive definite (raise 'damping', now ${damping}): ${
        (error as Error).message
      }`,
    );
  }

  const pruned = new Uint8Array(rows * cols); // 1 where pruned
  // An N:M group is chosen from weights that have had every earlier column's update, so no
  // group may straddle a block boundary (the lazy update has not reached the next block yet).
  const step = target.pattern === "n:m" ? Math.ceil(blockSize / target.m) * target.m : blockSize;
  let keptSoFar = 0;
  let obsLoss = 0;
  for (let i1 = 0; i1 < cols; i1 += step) {
    const i2 = Math.min(i1 + step, cols), count = i2 - i1;
    if (target.pattern === "unstructured") {
      // Kept through this block = the target's share of every weight seen so far, so blocks
      // that do not divide it evenly still leave the layer at its target.
      const keep = keptCount(rows * i2, target.sparsity) - keptSoFar;
      keptSoFar += keep;
      const positions: number[] = [];
      for (let r = 0; r < rows; r++) for (let c = i1; c < i2; c++) positions.push(r * cols + c);
      pruneLowest(positions, keep, (p) => score(w, u, cols, p), pruned);
    }
    const err = new Float64Array(rows * count);
    for (let j = i1; j < i2; j++) {
      if (target.pattern === "n:m" && j % target.m === 0) {
        const end = Math.min(j + target.m, cols);
        for (let r = 0; r < rows; r++) {
          const positions = Array.from({ length: end - j }, (_, k) => r * cols + j + k);
          pruneLowest(positions, Math.min(target.n, end - j), (p) => score(w, u, cols, p), pruned);
        }
      }
      const d = u[j * cols + j], uj = j * cols;
      for (let r = 0; r < rows; r++) {
        const p = r * cols + j;
        if (!pruned[p]) continue;
        const e = w[p] / d;
        err[r * count + (j - i1)] = e;
        obsLoss += e * e / 2;
        w[p] = 0;
        for (let c = j + 1; c < i2; c++) w[r * cols + c] -= e * u[uj + c];
      }
    }
    // The lazy update: the block's errors reach the later columns once, after the block.
    if (i2 === cols) continue;
    for (let r = 0; r < rows; r++) {
      const wr = r * cols;
      for (let k = 0; k < count; k++) {
        const e = err[r * count + k];
        if (e === 0) continue;
        const uk = (i1 + k) * cols;
        for (let c = i2; c < cols; c++) w[wr + c] -= e * u[uk + c];
      }
    }
  }
  const mask = new Float32Array(rows * cols);
  for (let i = 0; i < mask.length; i++) mask[i] = pruned[i] ? 0 : 1;
  return { weights: Float32Array.from(w), mask, deadInputs, obsLoss };
}

/** SparseGPT's saliency of weight p: w²/[U]_jj², with the weights as updated so far. */
function score(w: Float64Array, u: Float64Array, cols: number, p: number): number {
  const j = p % cols, d = u[j * cols + j];
  return (w[p] * w[p]) / (d * d);
}

/** Marks all but the `keep` highest-scoring positions as pruned; ties keep the lower index. */
function pruneLowest(
  positions: number[],
  keep: number,
  scoreOf: (p: number) => number,
  pruned: Uint8Array,
): void {
  const scores = Float64Array.from(positions, scoreOf);
  const order = Array.from(positions, (_, i) => i);
  order.sort((a, b) => scores[b] - scores[a] || positions[a] - positions[b]);
  for (let i = keep; i < order.length; i++) pruned[positions[order[i]]] = 1;
}

function checkLayerInputs(
  layer: LayerWeights,
  options: SparseGptLayerOptions,
  blockSize: number,
  damping: number,
): void {
  const { rows, cols } = layer;
  if (layer.weights.length !== rows * cols) {
    throw new RangeError(
      `Cannot prune with SparseGPT as the weights must hold rows × cols = ${rows} × ${cols} entries: got ${layer.weights.length}`,
    );
  }
  if (options.gram.length !== cols * cols) {
    throw new RangeError(
      `Cannot prune with SparseGPT as the Gram must be cols × cols = ${cols} × ${cols}: got ${options.gram.length} entries`,
    );
  }
  if (!(options.samples > 0)) {
    throw new RangeError(
      `Cannot prune with SparseGPT as the layer must have seen calibration rows: current value is ${options.samples}`,
    );
  }
  if (!Number.isInteger(blockSize) || blockSize < 1) {
    throw new RangeError(
      `Cannot prune with SparseGPT as 'blockSize' must be a positive integer: current value is ${blockSize}`,
    );
  }
  if (!(damping >= 0) || !Number.isFinite(damping)) {
    throw new RangeError(
      `Cannot prune with SparseGPT as 'damping' must be a finite number ≥ 0: current value is ${damping}`,
    );
  }
  const { target } = options;
  if (target.pattern === "unstructured" && !(target.sparsity >= 0 && target.sparsity < 1)) {
    throw new RangeError(
      `Cannot prune with SparseGPT as the sparsity must be in [0, 1): current value is ${target.sparsity}`,
    );
  }
}

/** What {@link sparseGptPrune} prunes every layer with, besides the target. */
export interface SparseGptPruneOptions {
  /** Columns per block (default 128). */
  blockSize?: number;
  /** Share of mean(diag H) added to H's diagonal (default 0.01). */
  damping?: number;
}

/**
 * Prunes every layer of `model` with SparseGPT, in forward order: hook the layer's input Gram,
 * run the calibration data through the model as pruned and updated so far (as far as that
 * layer), prune it with {@link sparseGptLayer}, write back the updated weights and the mask.
 *
 * @param model the model, pruned (and its kept weights updated) in place
 * @param calibration its calibration data
 * @param target what every layer is pruned to
 * @param options block size and damping
 * @throws {RangeError} as {@link sparseGptLayer} does
 */
export function sparseGptPrune(
  model: Pick<PrunableModel, "linears">,
  calibration: Calibration,
  target: MaskTarget,
  options: SparseGptPruneOptions = {},
): void {
  for (const layer of model.linears()) {
    const gram = collectInputGram(layer);
    try {
      calibration.run({ until: layer });
    } finally {
      gram.detach();
    }
    const pruned = sparseGptLayer(
      { weights: layer.weight.effective(), rows: layer.outFeatures, cols: layer.inFeatures },
      {
        gram: gram.value(),
        samples: gram.rows(),
        target,
        blockSize: options.blockSize,
        damping: options.damping,
      },
    );
    layer.weight.data.set(pruned.weights);
    layer.weight.setMask(pruned.mask);
  }
}
