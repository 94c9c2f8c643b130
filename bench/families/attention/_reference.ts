// Plain, obviously-correct CPU attention: the reference every attention kernel is checked against.
import {
  type AttentionInputs,
  type AttentionShape,
  queryCount,
  queryOffset,
} from "./_interface.ts";

/** One query row and the keys it attends to, for {@link attendRow}. */
export interface RowKeys {
  head: number;
  row: number;
  /** Ascending key indices the row attends to (all of them for dense attention). */
  keys: ArrayLike<number>;
}

/**
 * Softmax attention of one query row over the given keys, in float64.
 *
 * @param shape the shape of `inputs`
 * @param inputs host q, k and v
 * @param at the row (head, row index) and its keys
 * @returns the output row (headDim values) and the softmax weights over `keys`
 * @example
 * ```ts
 * import { attendRow, denseKeys } from "./mod.ts";
 * const shape = { heads: 1, seq: 2, headDim: 1, causal: true };
 * const inputs = { q: Float32Array.of(1, 1), k: Float32Array.of(0, Math.log(3)), v: Float32Array.of(1, 5) };
 * attendRow(shape, inputs, { head: 0, row: 1, keys: denseKeys(shape, 1) }).out[0]; // 4
 * ```
 */
export function attendRow(
  shape: AttentionShape,
  inputs: AttentionInputs,
  at: RowKeys,
): { out: Float64Array; weights: Float64Array } {
  const { head, row, keys } = at;
  const d = shape.headDim;
  const base = head * shape.seq * d;
  const qOff = (head * queryCount(shape) + row) * d;
  const scale = 1 / Math.sqrt(d);
  const scores = new Float64Array(keys.length);
  let max = -Infinity;
  for (let n = 0; n < keys.length; n++) {
    const kOff = base + keys[n] * d;
    let s = 0;
    for (let i = 0; i < d; i++) s += inputs.q[qOff + i] * inputs.k[kOff + i];
    scores[n] = s * scale;
    if (scores[n] > max) max = scores[n];
  }
  let sum = 0;
  for (let n = 0; n < keys.length; n++) {
    scores[n] = Math.exp(scores[n] - max);
    sum += scores[n];
  }
  const out = new Float64Array(d);
  for (let n = 0; n < keys.length; n++) {
    scores[n] /= sum;
    const vOff = base + keys[n] * d;
    for (let i = 0; i < d; i++) out[i] += scores[n] * inputs.v[vOff + i];
  }
  return { out, weights: scores };
}

/** Every key a dense (optionally causal) query row attends to. */
export function denseKeys(shape: AttentionShape, row: number): Int32Array {
  const last = shape.causal ? queryOffset(shape) + row : shape.seq - 1;
  return Int32Array.from({ length: last + 1 }, (_, j) => j);
}

/** The contiguous key range [lo, hi] as an index list. */
export function keyRange(lo: number, hi: number): Int32Array {
  return Int32Array.from({ length: Math.max(0, hi - lo + 1) }, (_, j) => lo + j);
}
