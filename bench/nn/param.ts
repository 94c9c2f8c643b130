// A trainable tensor with its gradient and, optionally, a weight mask: the object pruning and
// sparse-training methods work on.
import { mulberry32, normal } from "../random.ts";

/**
 * How a mask acts. `hard`: masked weights are held at zero and get no gradient (pruning, RigL
 * between updates). `straight-through`: the forward pass uses the masked weights but the dense
 * weights receive the full gradient and keep training (SR-STE and other STE methods).
 */
export type MaskMode = "hard" | "straight-through";

/** A named float32 tensor with its gradient, its mask and its optimizer state. */
export class Param {
  readonly name: string;
  readonly shape: readonly number[];
  readonly data: Float32Array;
  readonly grad: Float32Array;
  /** Whether AdamW applies weight decay to it (matrices yes; biases, norms no). */
  readonly decay: boolean;
  /** 1 keeps a weight, 0 prunes it; null means dense. */
  mask: Float32Array | null = null;
  maskMode: MaskMode = "hard";
  /** When true, the gradient before masking is kept in {@link denseGrad} (RigL's growth rule). */
  keepDenseGrad = false;
  denseGrad: Float32Array | null = null;
  #masked: Float32Array | null = null;

  constructor(name: string, shape: readonly number[], options: { decay?: boolean } = {}) {
    const size = shape.reduce((a, b) => a * b, 1);
    this.name = name;
    this.shape = Object.freeze([...shape]);
    this.data = new Float32Array(size);
    this.grad = new Float32Array(size);
    this.decay = options.decay ?? shape.length >= 2;
  }

  get size(): number {
    return this.data.length;
  }

  /**
   * Sets (or clears, with null) the mask. A hard mask zeroes the pruned weights at once.
   *
   * @throws {RangeError} when the mask's length differs from the weight's
   */
  setMask(mask: Float32Array | null, mode: MaskMode = "hard"): void {
    if (mask && mask.length !== this.size) {
      throw new RangeError(
        `Cannot mask '${this.name}' as the mask must have ${this.size} entries: got ${mask.length}`,
      );
    }
    this.mask = mask;
    this.maskMode = mode;
    if (mask && mode === "hard") this.applyMask();
  }

  /** Zeroes the masked weights (hard masks keep them at zero after every update). */
  applyMask(): void {
    const m = this.mask;
    if (!m) return;
    for (let i = 0; i < m.length; i++) if (m[i] === 0) this.data[i] = 0;
  }

  /** The weights the forward pass uses: data ⊙ mask (data itself when dense). */
  effective(): Float32Array {
    const m = this.mask;
    if (!m) return this.data;
    const out = this.#masked ??= new Float32Array(this.size);
    for (let i = 0; i < m.length; i++) out[i] = this.data[i] * m[i];
    return out;
  }

  /** Applies the mask to the gradient (hard masks only), keeping the dense one when asked. */
  maskGradient(): void {
    const m = this.mask;
    if (!m || this.maskMode !== "hard") return;
    if (this.keepDenseGrad) (this.denseGrad ??= new Float32Array(this.size)).set(this.grad);
    for (let i = 0; i < m.length; i++) this.grad[i] *= m[i];
  }

  /** Share of weights the mask keeps (1 when dense). */
  density(): number {
    if (!this.mask) return 1;
    let kept = 0;
    for (const v of this.mask) kept += v !== 0 ? 1 : 0;
    return kept / this.size;
  }
}

/** Seeded initializers: every model built from the same seed has the same weights. */
export function initNormal(p: Param, std: number, seed: number): void {
  const gauss = normal(mulberry32(seed));
  for (let i = 0; i < p.size; i++) p.data[i] = gauss() * std;
}

/** Uniform in [-bound, bound], as PyTorch's default Linear init with bound = 1/√fan_in. */
export function initUniform(p: Param, bound: number, seed: number): void {
  const u = mulberry32(seed);
  for (let i = 0; i < p.size; i++) p.data[i] = (2 * u() - 1) * bound;
}
