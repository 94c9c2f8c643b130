// Statistics pruning methods gather from a layer's inputs while calibration data flows through:
// per-feature input norms (Wanda), the input Gram matrix Σ xᵀx (SparseGPT's Hessian 2·XᵀX) and
// per-feature means and variances (DSnoT's expected reconstruction error).
import { gemm } from "./gemm.ts";
import type { Linear } from "./layers.ts";

/** A statistic being gathered from a Linear layer; `detach()` stops gathering. */
export interface InputStatistic<T> {
  /** Rows seen so far. */
  rows(): number;
  value(): T;
  detach(): void;
}

/** ‖X[:, j]‖₂ over every input row seen: Wanda's activation norm per input feature. */
export function collectInputNorms(layer: Linear): InputStatistic<Float64Array> {
  const sumSq = new Float64Array(layer.inFeatures);
  let rows = 0;
  const hook = (x: Float32Array, n: number, f: number) => {
    for (let r = 0; r < n; r++) for (let j = 0; j < f; j++) sumSq[j] += x[r * f + j] ** 2;
    rows += n;
  };
  layer.inputHooks.push(hook);
  return {
    rows: () => rows,
    value: () => sumSq.map(Math.sqrt),
    detach: () => void layer.inputHooks.splice(layer.inputHooks.indexOf(hook), 1),
  };
}

/**
 * Σ xᵀx [in × in] over every input row seen: SparseGPT's layer Hessian is 2·Σ xᵀx / rows. Each
 * forward batch's product runs on the engine's gemm in float32 (a batch of the tasks'
 * calibration is 256 images or 1,024 tokens) and is added to a float64 sum across batches.
 */
export function collectInputGram(layer: Linear): InputStatistic<Float64Array> {
  const f = layer.inFeatures, gram = new Float64Array(f * f), batch = new Float32Array(f * f);
  let rows = 0;
  const hook = (x: Float32Array, n: number) => {
    gemm({ m: f, n: f, k: n, a: x, b: x, c: batch, transA: true });
    for (let i = 0; i < gram.length; i++) gram[i] += batch[i];
    rows += n;
  };
  layer.inputHooks.push(hook);
  return {
    rows: () => rows,
    value: () => gram,
    detach: () => void layer.inputHooks.splice(layer.inputHooks.indexOf(hook), 1),
  };
}

/** Per-feature moments of a layer's inputs: E[x_j] and the population Var[x_j]. */
export interface InputMoments {
  mean: Float64Array;
  variance: Float64Array;
}

/**
 * E[x_j] and Var[x_j] (population, over every input row seen), float64: DSnoT's expected
 * reconstruction error and its growing criterion. Sums are taken around the first row seen, so
 * a feature with a large mean and a small spread keeps its variance's digits.
 *
 * @example
 * ```ts
 * import { collectInputMoments } from "./hooks.ts";
 * import { Linear } from "./layers.ts";
 * import { assertEquals } from "../../tests/assert.ts";
 * const layer = new Linear("fc", 2, 1);
 * const moments = collectInputMoments(layer);
 * layer.forward(Float32Array.of(1, 5, 3, 5), 2);
 * moments.detach();
 * assertEquals([...moments.value().mean], [2, 5]);
 * assertEquals([...moments.value().variance], [1, 0]);
 * ```
 */
export function collectInputMoments(layer: Linear): InputStatistic<InputMoments> {
  const f = layer.inFeatures;
  const shift = new Float64Array(f), sum = new Float64Array(f), sumSq = new Float64Array(f);
  let rows = 0;
  const hook = (x: Float32Array, n: number) => {
    if (rows === 0 && n > 0) { for (let j = 0; j < f; j++) shift[j] = x[j]; }
    for (let r = 0; r < n; r++) {
      const o = r * f;
      for (let j = 0; j < f; j++) {
        const d = x[o + j] - shift[j];
        sum[j] += d;
        sumSq[j] += d * d;
      }
    }
    rows += n;
  };
  layer.inputHooks.push(hook);
  return {
    rows: () => rows,
    value: () => {
      const mean = new Float64Array(f), variance = new Float64Array(f);
      if (rows === 0) return { mean, variance };
      for (let j = 0; j < f; j++) {
        const m = sum[j] / rows;
        mean[j] = shift[j] + m;
        variance[j] = Math.max(0, sumSq[j] / rows - m * m);
      }
      return { mean, variance };
    },
    detach: () => void layer.inputHooks.splice(layer.inputHooks.indexOf(hook), 1),
  };
}
