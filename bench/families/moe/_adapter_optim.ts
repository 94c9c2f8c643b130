// AdamW over chosen entries of one tensor, with its own moments and step count: how a sparse
// module trains when it owns only some entries of an adapter's weights (MoSA), each module
// optimized as a separate tensor would be, untouched on the steps it is not activated.

/** The AdamW settings, as bench/nn/optim.ts's (decoupled decay, bias-corrected moments). */
export interface SubsetAdamWOptions {
  beta1?: number;
  beta2?: number;
  eps?: number;
  /** Decoupled weight decay (pass 0 for biases). */
  weightDecay?: number;
}

/** AdamW restricted to `entries` of a tensor: other entries, and their state, never change. */
export class SubsetAdamW {
  readonly entries: Int32Array;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  /** Steps taken (each module counts its own, as a separate optimizer parameter would). */
  t = 0;
  readonly #m: Float32Array;
  readonly #v: Float32Array;

  /**
   * @param entries the indices this optimizer owns
   * @param options AdamW's settings (defaults β = 0.9, 0.999, ε = 1e-8, no decay)
   */
  constructor(entries: Int32Array, options: SubsetAdamWOptions = {}) {
    this.entries = entries;
    this.beta1 = options.beta1 ?? 0.9;
    this.beta2 = options.beta2 ?? 0.999;
    this.eps = options.eps ?? 1e-8;
    this.weightDecay = options.weightDecay ?? 0;
    this.#m = new Float32Array(entries.length);
    this.#v = new Float32Array(entries.length);
  }

  /** One update of `w`'s owned entries from `g` (same formulas as bench/nn AdamW.step). */
  step(w: Float32Array, g: Float32Array, lr: number): void {
    this.t++;
    const b1 = this.beta1, b2 = this.beta2, m = this.#m, v = this.#v, idx = this.entries;
    const c1 = 1 - b1 ** this.t, c2 = 1 - b2 ** this.t;
    const stepSize = lr / c1, decay = 1 - lr * this.weightDecay;
    for (let k = 0; k < idx.length; k++) {
      const i = idx[k], gi = g[i];
      m[k] = b1 * m[k] + (1 - b1) * gi;
      v[k] = b2 * v[k] + (1 - b2) * gi * gi;
      w[i] = w[i] * decay - stepSize * m[k] / (Math.sqrt(v[k] / c2) + this.eps);
    }
  }
}

/** Every index of a tensor of `size` entries. */
export function allEntries(size: number): Int32Array {
  return Int32Array.from({ length: size }, (_, i) => i);
}
