// CPU references of the dense attention map pooled over blocks, for methods that choose key
// blocks by their true attention (SeerAttention's oracle gate, SparseD's and AdaSpa's block
// mass), and of a row's log-sum-exp, the normaliser those pool with. All in float64.
import { blockGeometry } from "./_block_sparse.ts";
import { perInputCache } from "./_cache.ts";
import {
  type AttentionInputs,
  type AttentionShape,
  queryCount,
  queryOffset,
} from "./_interface.ts";

/** Which query block of which head (or slice), with `block` keys and query rows per block. */
export interface QueryBlockAt {
  block: number;
  /** The head (or slice of a multi-step shape). */
  head: number;
  qb: number;
}

/**
 * The block max-pooled attention map of one query block: per visible key block, the largest dense
 * attention probability any of its rows gives a key of that block. Computed as `attendRow`
 * computes the weights (so bit-identical to them), without the values.
 *
 * @example
 * ```ts
 * import { blockMaxAttention } from "./mod.ts";
 * const shape = { heads: 1, seq: 4, headDim: 4, causal: true };
 * const zeros = new Float32Array(16);
 * const inputs = { q: zeros, k: zeros, v: zeros };
 * blockMaxAttention(shape, inputs, { block: 2, head: 0, qb: 1 }); // [0.5, 0.5]: row 2 sees 3 keys
 * ```
 */
export function blockMaxAttention(
  shape: AttentionShape,
  inputs: AttentionInputs,
  at: QueryBlockAt,
): Float64Array {
  const { block, head, qb } = at;
  const d = shape.headDim;
  const base = head * shape.seq * d;
  const scale = 1 / Math.sqrt(d);
  const gates = new Float64Array(blockGeometry(shape, block).visible(qb));
  const scores = new Float64Array(shape.seq);
  for (let row = qb * block; row < Math.min((qb + 1) * block, queryCount(shape)); row++) {
    const keys = shape.causal ? queryOffset(shape) + row + 1 : shape.seq;
    const qOff = (head * queryCount(shape) + row) * d;
    let max = -Infinity;
    for (let j = 0; j < keys; j++) {
      let s = 0;
      for (let i = 0; i < d; i++) s += inputs.q[qOff + i] * inputs.k[base + j * d + i];
      scores[j] = s * scale;
      if (scores[j] > max) max = scores[j];
    }
    let sum = 0;
    for (let j = 0; j < keys; j++) {
      scores[j] = Math.exp(scores[j] - max);
      sum += scores[j];
    }
    for (let j = 0; j < keys; j++) {
      const w = scores[j] / sum;
      const kb = Math.floor(j / block);
      if (w > gates[kb]) gates[kb] = w;
    }
  }
  return gates;
}

/**
 * The CPU reference of a row's log-sum-exp over `keys` (scaled logits): what the staged attention
 * leaves for a later search.
 */
export function rowLogSumExp(
  shape: AttentionShape,
  inputs: AttentionInputs,
  at: { slice: number; row: number; keys: ArrayLike<number> },
): number {
  const { slice, row, keys } = at;
  const d = shape.headDim;
  const qOff = (slice * queryCount(shape) + row) * d;
  const base = slice * shape.seq * d;
  const scale = 1 / Math.sqrt(d);
  const logits = Float64Array.from({ length: keys.length }, (_, n) => {
    let dot = 0;
    for (let i = 0; i < d; i++) dot += inputs.q[qOff + i] * inputs.k[base + keys[n] * d + i];
    return dot * scale;
  });
  const max = logits.reduce((a, b) => Math.max(a, b), -Infinity);
  return max + Math.log(logits.reduce((a, x) => a + Math.exp(x - max), 0));
}

/**
 * The CPU reference of one query block's exact block attention mass: per visible key block,
 * Σ over the query block's rows and the block's keys of exp(logit − lse(row)), where `lse`
 * defaults to each row's own dense log-sum-exp (computed from the same logits).
 */
export function blockMassOf(
  shape: AttentionShape,
  inputs: AttentionInputs,
  at: { block: number; slice: number; qb: number; lse?: (row: number) => number },
): Float64Array {
  const { block, slice, qb, lse } = at;
  const geometry = blockGeometry(shape, block);
  const d = shape.headDim;
  const queries = queryCount(shape);
  const base = slice * shape.seq * d;
  const scale = 1 / Math.sqrt(d);
  const mass = new Float64Array(geometry.visible(qb));
  for (let row = qb * block; row < Math.min((qb + 1) * block, queries); row++) {
    const qOff = (slice * queries + row) * d;
    const last = shape.causal ? queryOffset(shape) + row : shape.seq - 1;
    const logits = new Float64Array(last + 1);
    let max = -Infinity;
    for (let j = 0; j <= last; j++) {
      let dot = 0;
      for (let i = 0; i < d; i++) dot += inputs.q[qOff + i] * inputs.k[base + j * d + i];
      logits[j] = dot * scale;
      if (logits[j] > max) max = logits[j];
    }
    let rowLse = lse?.(row);
    if (rowLse === undefined) {
      let sum = 0;
      for (const x of logits) sum += Math.exp(x - max);
      rowLse = max + Math.log(sum);
    }
    for (let j = 0; j <= last; j++) mass[Math.floor(j / block)] += Math.exp(logits[j] - rowLse);
  }
  return mass;
}

const cachedMaps = perInputCache<Float64Array>();

/**
 * One query block's dense attention probabilities pooled per visible key block — by `max`
 * ({@link blockMaxAttention}: SeerAttention's oracle gate) or by `sum` ({@link blockMassOf}: the
 * block's attention mass) — computed once per input (CPU references are asked row by row, and
 * a dense pass over the block's rows is their main cost).
 */
export function blockAttentionMap(
  shape: AttentionShape,
  inputs: AttentionInputs,
  at: QueryBlockAt & { pool: "max" | "sum" },
): Float64Array {
  const { pool, block, head, qb } = at;
  return cachedMaps(
    inputs,
    `${JSON.stringify(shape)}|${pool}|${block}|${head}|${qb}`,
    () =>
      pool === "max"
        ? blockMaxAttention(shape, inputs, { block, head, qb })
        : blockMassOf(shape, inputs, { block, slice: head, qb }),
  );
}
