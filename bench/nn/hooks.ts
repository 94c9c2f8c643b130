// Statistics pruning methods gather from a layer's inputs while calibration data flows through:
// per-feature input norms (Wanda) and the input Gram matrix Σ xᵀx (SparseGPT's Hessian 2·XᵀX).
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

/** Σ xᵀx [in × in] (float64) over every input row seen: SparseGPT's layer Hessian is 2·Σ xᵀx / rows. */
export function collectInputGram(layer: Linear): InputStatistic<Float64Array> {
  const f = layer.inFeatures, gram = new Float64Array(f * f);
  let rows = 0;
  const hook = (x: Float32Array, n: number) => {
    for (let r = 0; r < n; r++) {
      const o = r * f;
      for (let i = 0; i < f; i++) {
        const xi = x[o + i];
        if (xi === 0) continue;
        const gi = i * f;
        for (let j = 0; j < f; j++) gram[gi + j] += xi * x[o + j];
      }
    }
    rows += n;
  };
  layer.inputHooks.push(hook);
  return {
    rows: () => rows,
    value: () => gram,
    detach: () => void layer.inputHooks.splice(layer.inputHooks.indexOf(hook), 1),
  };
}
