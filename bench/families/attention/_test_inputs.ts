// Seeded inputs and shapes for the GPU-vs-CPU tests of attention kernels.
import { mulberry32, normal } from "../../random.ts";
import { type AttentionInputs, type AttentionShape, queryCount } from "./_interface.ts";

/**
 * Seeded Gaussian q, k, v for `shape`, q and k scaled up so softmax is peaked, as in trained
 * heads, rather than near-uniform.
 *
 * @example
 * ```ts
 * import { randomInputs } from "./mod.ts";
 * randomInputs({ heads: 1, seq: 8, headDim: 4, causal: true }, 1).q.length; // 32
 * ```
 */
export function randomInputs(shape: AttentionShape, seed: number): AttentionInputs {
  const g = normal(mulberry32(seed));
  const n = shape.heads * shape.seq * shape.headDim;
  const nq = shape.heads * queryCount(shape) * shape.headDim;
  return {
    q: Float32Array.from({ length: nq }, () => 2 * g()),
    k: Float32Array.from({ length: n }, () => 2 * g()),
    v: Float32Array.from({ length: n }, g),
  };
}

/** Prefill and decoding shapes, odd and even, head dims 32 to 128. */
export const TEST_SHAPES: readonly AttentionShape[] = [
  { heads: 2, seq: 1, headDim: 64, causal: true },
  { heads: 1, seq: 63, headDim: 32, causal: false },
  { heads: 3, seq: 130, headDim: 128, causal: true },
  { heads: 2, seq: 201, headDim: 64, causal: false },
  { heads: 1, seq: 257, headDim: 64, causal: true },
  // Decoding: a few queries (the last positions) against the whole cache.
  { heads: 2, seq: 300, headDim: 64, causal: true, queries: 5 },
  { heads: 1, seq: 190, headDim: 32, causal: false, queries: 70 },
];
