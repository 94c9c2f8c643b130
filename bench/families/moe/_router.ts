// What the learned gates share: a linear router (logits = x·Wᵀ, no bias, float32 as Switch asks
// of its router), softmax over experts with its backward, and top-k selection.
import { gemm } from "../../nn/gemm.ts";
import { initNormal, Param } from "../../nn/param.ts";
import { hashString } from "../../random.ts";

/** A linear map from the layer's input to one logit per expert. */
export class Router {
  readonly weight: Param;
  readonly dim: number;
  readonly experts: number;

  /**
   * @param name the parameter's name prefix (e.g. "gate.router")
   * @param std the initial weights' standard deviation (0: zeros, as Shazeer et al. start)
   */
  constructor(
    name: string,
    shape: { dim: number; experts: number },
    init: { std: number; seed: number },
  ) {
    this.dim = shape.dim;
    this.experts = shape.experts;
    this.weight = new Param(`${name}.weight`, [shape.experts, shape.dim], { decay: false });
    if (init.std > 0) initNormal(this.weight, init.std, hashString(this.weight.name, init.seed));
  }

  /** Logits [tokens × experts]. */
  logits(x: Float32Array, tokens: number): Float32Array {
    const out = new Float32Array(tokens * this.experts);
    gemm({
      m: tokens,
      n: this.experts,
      k: this.dim,
      a: x,
      b: this.weight.data,
      c: out,
      transB: true,
    });
    return out;
  }

  /** Accumulates ∂W from ∂logits and the inputs it was given; returns ∂x. */
  backward(dLogits: Float32Array, x: Float32Array, tokens: number): Float32Array {
    const E = this.experts, d = this.dim;
    gemm({
      m: E,
      n: d,
      k: tokens,
      a: dLogits,
      b: x,
      c: this.weight.grad,
      transA: true,
      accumulate: true,
    });
    const dx = new Float32Array(tokens * d);
    gemm({ m: tokens, n: d, k: E, a: dLogits, b: this.weight.data, c: dx });
    return dx;
  }
}

/** Row-wise softmax of [rows × cols] (max-subtracted). */
export function softmaxRows(logits: Float32Array, rows: number, cols: number): Float32Array {
  const p = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let max = -Infinity;
    for (let j = 0; j < cols; j++) max = Math.max(max, logits[o + j]);
    let sum = 0;
    for (let j = 0; j < cols; j++) sum += p[o + j] = Math.exp(logits[o + j] - max);
    for (let j = 0; j < cols; j++) p[o + j] /= sum;
  }
  return p;
}

/** ∂logits of a row-wise softmax p given ∂p: p ⊙ (∂p − Σ p·∂p), row by row. */
export function softmaxBackward(
  p: Float32Array,
  dp: Float32Array,
  rows: number,
  cols: number,
): Float32Array {
  const d = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const o = r * cols;
    let dot = 0;
    for (let j = 0; j < cols; j++) dot += p[o + j] * dp[o + j];
    for (let j = 0; j < cols; j++) d[o + j] = p[o + j] * (dp[o + j] - dot);
  }
  return d;
}

/**
 * The indices of the `k` largest values of `row[offset … offset+n)`, largest first; ties go to
 * the lower index, so a selection is deterministic.
 */
export function topKIndices(row: Float32Array, offset: number, n: number, k: number): Int32Array {
  const out = new Int32Array(k).fill(-1);
  for (let i = 0; i < n; i++) {
    const v = row[offset + i];
    let pos = k;
    while (pos > 0 && (out[pos - 1] === -1 || row[offset + out[pos - 1]] < v)) pos--;
    if (pos >= k) continue;
    for (let q = k - 1; q > pos; q--) out[q] = out[q - 1];
    out[pos] = i;
  }
  return out;
}

/** CV² = variance / mean² of a vector (population variance), the importance and load losses' shape. */
export function cvSquared(v: Float64Array): number {
  const n = v.length;
  let mean = 0;
  for (const x of v) mean += x;
  mean /= n;
  if (mean === 0) return 0;
  let variance = 0;
  for (const x of v) variance += (x - mean) ** 2;
  return variance / n / (mean * mean);
}

/** ∂CV²/∂vᵢ for each i. */
export function cvSquaredGrad(v: Float64Array): Float64Array {
  const n = v.length;
  let mean = 0;
  for (const x of v) mean += x;
  mean /= n;
  const g = new Float64Array(n);
  if (mean === 0) return g;
  let variance = 0;
  for (const x of v) variance += (x - mean) ** 2;
  variance /= n;
  for (let i = 0; i < n; i++) {
    g[i] = 2 * (v[i] - mean) / (n * mean * mean) - 2 * variance / (n * mean ** 3);
  }
  return g;
}

/** The index of the largest of `row[offset … offset+n)`; ties go to the lower index. */
export function argmaxRow(row: Float32Array, offset: number, n: number): number {
  let best = 0;
  for (let e = 1; e < n; e++) if (row[offset + e] > row[offset + best]) best = e;
  return best;
}

/**
 * A linear router followed by a softmax over experts, which keeps what its backward needs from a
 * "train" pass: the router of dense-mixture, expert-choice, switch and gshard-top2, named
 * `gate.router` and initialized N(0, 0.1/d) (Switch's scale, untruncated).
 */
export class SoftmaxRouter {
  readonly router: Router;
  #cache: { x: Float32Array; p: Float32Array; tokens: number } | null = null;

  constructor(shape: { dim: number; experts: number }, seed: number) {
    this.router = new Router("gate.router", shape, { std: Math.sqrt(0.1 / shape.dim), seed });
  }

  /** Probabilities [tokens × experts]; a "train" pass is kept for {@link backward}. */
  probabilities(x: Float32Array, tokens: number, mode: "train" | "eval"): Float32Array {
    const p = softmaxRows(this.router.logits(x, tokens), tokens, this.router.experts);
    this.#cache = mode === "train" ? { x, p, tokens } : null;
    return p;
  }

  /**
   * Accumulates the router's gradient from ∂loss/∂p of the last "train" pass; returns ∂loss/∂x.
   *
   * @throws {Error} naming `gate` when no "train" pass precedes it
   */
  backward(dp: Float32Array, gate: string): Float32Array {
    const cache = this.#cache;
    if (!cache) throw new Error(`${gate}: backward without a train-mode route`);
    const { x, p, tokens } = cache;
    this.#cache = null;
    return this.router.backward(
      softmaxBackward(p, dp, tokens, this.router.experts),
      x,
      tokens,
    );
  }
}
