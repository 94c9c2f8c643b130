// AdamW with decoupled weight decay, and the warm-up + cosine learning-rate schedule.
import type { Param } from "./param.ts";

export interface AdamWOptions {
  lr: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  /** Decoupled weight decay, applied to parameters whose `decay` is true. */
  weightDecay?: number;
  /** Clip the global gradient norm to this value (0: no clipping). */
  clipNorm?: number;
}

/** AdamW (Loshchilov & Hutter, 2019) over a fixed list of parameters. */
export class AdamW {
  readonly params: readonly Param[];
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  readonly clipNorm: number;
  lr: number;
  #m: Float32Array[];
  #v: Float32Array[];
  #t = 0;

  constructor(params: readonly Param[], options: AdamWOptions) {
    this.params = params;
    this.lr = options.lr;
    this.beta1 = options.beta1 ?? 0.9;
    this.beta2 = options.beta2 ?? 0.999;
    this.eps = options.eps ?? 1e-8;
    this.weightDecay = options.weightDecay ?? 0;
    this.clipNorm = options.clipNorm ?? 0;
    this.#m = params.map((p) => new Float32Array(p.size));
    this.#v = params.map((p) => new Float32Array(p.size));
  }

  /** The optimizer's state (step count and moment estimates), for resuming a run. */
  exportState(): { t: number; m: Float32Array[]; v: Float32Array[] } {
    return { t: this.#t, m: this.#m, v: this.#v };
  }

  /**
   * Restores a state from {@link exportState}.
   *
   * @throws {RangeError} when the moment shapes do not match the parameters
   */
  importState(state: { t: number; m: Float32Array[]; v: Float32Array[] }): void {
    this.params.forEach((p, k) => {
      if (state.m[k]?.length !== p.size || state.v[k]?.length !== p.size) {
        throw new RangeError(`Cannot restore AdamW state: the moments of '${p.name}' do not match`);
      }
      this.#m[k].set(state.m[k]);
      this.#v[k].set(state.v[k]);
    });
    this.#t = state.t;
  }

  /** Sets every gradient to zero. */
  zeroGrad(): void {
    for (const p of this.params) p.grad.fill(0);
  }

  /** The global L2 norm of the gradients. */
  gradNorm(): number {
    let s = 0;
    for (const p of this.params) for (const g of p.grad) s += g * g;
    return Math.sqrt(s);
  }

  /**
   * One update. Hard masks are applied to the gradients first (keeping dense copies where a
   * parameter asks) and to the weights after, so pruned weights stay exactly zero.
   *
   * @returns the gradient norm before clipping
   */
  step(): number {
    for (const p of this.params) p.maskGradient();
    const norm = this.gradNorm();
    const clip = this.clipNorm > 0 && norm > this.clipNorm ? this.clipNorm / norm : 1;
    this.#t++;
    const b1 = this.beta1, b2 = this.beta2;
    const c1 = 1 - b1 ** this.#t, c2 = 1 - b2 ** this.#t;
    const stepSize = this.lr / c1;
    for (let k = 0; k < this.params.length; k++) {
      const p = this.params[k], m = this.#m[k], v = this.#v[k], w = p.data, g = p.grad;
      const decay = p.decay ? 1 - this.lr * this.weightDecay : 1;
      for (let i = 0; i < w.length; i++) {
        const gi = g[i] * clip;
        m[i] = b1 * m[i] + (1 - b1) * gi;
        v[i] = b2 * v[i] + (1 - b2) * gi * gi;
        w[i] = w[i] * decay - stepSize * m[i] / (Math.sqrt(v[i] / c2) + this.eps);
      }
      if (p.maskMode === "hard") p.applyMask();
    }
    return norm;
  }
}

/**
 * Linear warm-up to `maxLr` over `warmup` steps, then cosine decay to `minLr` at `total` steps.
 *
 * @example
 * ```ts
 * import { assertAlmostEquals } from "../../tests/assert.ts";
 * // The first warm-up step: a tenth of the peak.
 * assertAlmostEquals(cosineLr(0, { maxLr: 1e-3, minLr: 1e-4, warmup: 10, total: 100 }), 1e-4, 1e-12);
 * ```
 */
export function cosineLr(
  step: number,
  s: { maxLr: number; minLr: number; warmup: number; total: number },
): number {
  if (step < s.warmup) return s.maxLr * (step + 1) / s.warmup;
  if (step >= s.total) return s.minLr;
  const progress = (step - s.warmup) / Math.max(1, s.total - s.warmup);
  return s.minLr + 0.5 * (s.maxLr - s.minLr) * (1 + Math.cos(Math.PI * progress));
}
