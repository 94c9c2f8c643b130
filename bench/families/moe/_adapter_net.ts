// The adapter-tuning model: a frozen image MLP (784 → 300 → 100) as the backbone, a bottleneck
// adapter after each hidden layer (h + up(ReLU(down(h))), as Houlsby's and Pfeiffer's) and a new
// classifier head, with a hand-written backward and a plain float64 reference of its forward.
import { gemm } from "../../nn/gemm.ts";
import { Linear, ReLU } from "../../nn/layers.ts";
import { initUniform, Param } from "../../nn/param.ts";
import { hashString } from "../../random.ts";

/** What trains: the head alone (a linear probe), the adapters and head, or every weight. */
export type AdapterScope = "head" | "adapter" | "all";

/** The shape of an adapter-tuning model. */
export interface AdapterNetShape {
  /** Backbone sizes without its classifier, e.g. [784, 300, 100]. */
  backbone: readonly number[];
  /** Adapter bottleneck width r (0: no adapters). */
  bottleneck: number;
  classes: number;
}

/** y = h + up(ReLU(down(h))): a bottleneck adapter with a residual, d → r → d. */
export class BottleneckAdapter {
  readonly down: Param[];
  readonly up: Param[];
  readonly dim: number;
  readonly bottleneck: number;
  #h: Float32Array | null = null;
  #z: Float32Array | null = null;
  #a: Float32Array | null = null;
  #rows = 0;

  constructor(name: string, dim: number, bottleneck: number) {
    this.dim = dim;
    this.bottleneck = bottleneck;
    this.down = [
      new Param(`${name}.down.weight`, [bottleneck, dim]),
      new Param(`${name}.down.bias`, [bottleneck]),
    ];
    this.up = [
      new Param(`${name}.up.weight`, [dim, bottleneck]),
      new Param(`${name}.up.bias`, [dim]),
    ];
  }

  parameters(): Param[] {
    return [...this.down, ...this.up];
  }

  /**
   * PyTorch's Linear init for the down projection (uniform, bound 1/√d) and zeros for the up
   * projection, so a new adapter starts as the identity (the released adapters' init).
   */
  init(seed: number): void {
    const [w, b] = this.down;
    initUniform(w, 1 / Math.sqrt(this.dim), hashString(w.name, seed));
    initUniform(b, 1 / Math.sqrt(this.dim), hashString(b.name, seed));
    for (const p of this.up) p.data.fill(0);
  }

  forward(h: Float32Array, rows: number): Float32Array {
    const d = this.dim, r = this.bottleneck;
    const z = affine(h, rows, this.down, d, r);
    const a = new Float32Array(z.length);
    for (let i = 0; i < z.length; i++) a[i] = z[i] > 0 ? z[i] : 0;
    const out = affine(a, rows, this.up, r, d);
    for (let i = 0; i < out.length; i++) out[i] += h[i];
    this.#h = h;
    this.#z = z;
    this.#a = a;
    this.#rows = rows;
    return out;
  }

  /** Accumulates the four tensors' gradients; returns ∂h (skipped when `needInput` is false). */
  backward(dy: Float32Array, needInput = true): Float32Array | null {
    const d = this.dim, r = this.bottleneck, rows = this.#rows;
    const da = affineBackward(dy, this.#a!, rows, this.up, r, d, true)!;
    for (let i = 0; i < da.length; i++) if (this.#z![i] <= 0) da[i] = 0;
    const dh = affineBackward(da, this.#h!, rows, this.down, d, r, needInput);
    if (!dh) return null;
    for (let i = 0; i < dh.length; i++) dh[i] += dy[i];
    return dh;
  }
}

function affine(x: Float32Array, rows: number, p: Param[], inF: number, outF: number) {
  const y = new Float32Array(rows * outF), b = p[1].data;
  gemm({ m: rows, n: outF, k: inF, a: x, b: p[0].data, c: y, transB: true });
  for (let r = 0; r < rows; r++) for (let j = 0; j < outF; j++) y[r * outF + j] += b[j];
  return y;
}

function affineBackward(
  dy: Float32Array,
  x: Float32Array,
  rows: number,
  p: Param[],
  inF: number,
  outF: number,
  needInput: boolean,
): Float32Array | null {
  gemm({ m: outF, n: inF, k: rows, a: dy, b: x, c: p[0].grad, transA: true, accumulate: true });
  const g = p[1].grad;
  for (let r = 0; r < rows; r++) for (let j = 0; j < outF; j++) g[j] += dy[r * outF + j];
  if (!needInput) return null;
  const dx = new Float32Array(rows * inF);
  gemm({ m: rows, n: inF, k: outF, a: dy, b: p[0].data, c: dx });
  return dx;
}

/**
 * Backbone layers (Linear + ReLU each), an adapter after each, then a new head. The first
 * backbone layer's output can be computed once (`features`) when that layer is frozen, since
 * nothing before the first adapter changes.
 */
export class AdapterNet {
  readonly shape: AdapterNetShape;
  readonly backbone: Linear[];
  readonly adapters: BottleneckAdapter[];
  readonly head: Linear;
  readonly #acts: ReLU[];

  constructor(shape: AdapterNetShape) {
    const { backbone, bottleneck, classes } = shape;
    if (backbone.length < 2) {
      throw new RangeError(
        `Cannot build an adapter net as its backbone needs 2+ sizes: got [${backbone}]`,
      );
    }
    if (!Number.isInteger(bottleneck) || bottleneck < 0) {
      throw new RangeError(
        `Cannot build an adapter net as 'bottleneck' must be a non-negative integer: got ${bottleneck}`,
      );
    }
    this.shape = { backbone: [...backbone], bottleneck, classes };
    this.backbone = backbone.slice(1).map((out, i) => new Linear(`fc${i + 1}`, backbone[i], out));
    this.#acts = this.backbone.map(() => new ReLU());
    this.adapters = bottleneck === 0
      ? []
      : backbone.slice(1).map((d, i) => new BottleneckAdapter(`adapter${i + 1}`, d, bottleneck));
    this.head = new Linear("head", backbone[backbone.length - 1], classes);
  }

  backboneParameters(): Param[] {
    return this.backbone.flatMap((l) => l.parameters());
  }

  adapterParameters(): Param[] {
    return this.adapters.flatMap((a) => a.parameters());
  }

  /** The tensors a checkpoint of this scope stores (what trained). */
  storedParameters(scope: AdapterScope): Param[] {
    const head = this.head.parameters();
    if (scope === "head") return head;
    if (scope === "adapter") return [...this.adapterParameters(), ...head];
    return [...this.backboneParameters(), ...head];
  }

  /** Fresh adapters and head from `seed` (the backbone is loaded, not initialized). */
  init(seed: number): void {
    for (const a of this.adapters) a.init(seed);
    const w = this.head.weight;
    initUniform(w, 1 / Math.sqrt(this.head.inFeatures), hashString(w.name, seed));
    initUniform(
      this.head.bias!,
      1 / Math.sqrt(this.head.inFeatures),
      hashString("head.bias", seed),
    );
  }

  /** ReLU(fc1(x)): the first layer's output, the start of {@link fromFeatures}. */
  features(x: Float32Array, rows: number): Float32Array {
    return this.#acts[0].forward(this.backbone[0].forward(x, rows));
  }

  /** Logits of images [rows × 784]. */
  forward(x: Float32Array, rows: number): Float32Array {
    return this.fromFeatures(this.features(x, rows), rows);
  }

  /** Logits from the first layer's output onward. */
  fromFeatures(h1: Float32Array, rows: number): Float32Array {
    let h = h1;
    for (let i = 0; i < this.backbone.length; i++) {
      if (i > 0) h = this.#acts[i].forward(this.backbone[i].forward(h, rows));
      if (this.adapters[i]) h = this.adapters[i].forward(h, rows);
    }
    return this.head.forward(h, rows);
  }

  /**
   * Backpropagates ∂loss/∂logits as far as `scope` needs: the head alone, down to the first
   * adapter, or through the first backbone layer. Frozen backbone layers get gradients too (the
   * engine's Linear computes them) but nothing reads them.
   */
  backward(dlogits: Float32Array, scope: AdapterScope): void {
    let d: Float32Array | null = this.head.backward(dlogits);
    if (scope === "head") return;
    for (let i = this.backbone.length - 1; i >= 0 && d; i--) {
      if (this.adapters[i]) d = this.adapters[i].backward(d, i > 0 || scope === "all");
      if (!d) return;
      if (i === 0 && scope !== "all") return;
      d = this.#acts[i].backward(d);
      d = this.backbone[i].backward(d);
    }
  }
}

/**
 * The plain float64 reference of {@link AdapterNet.forward}: loops over rows and weights, no
 * GEMM, so the engine's logits can be checked against it.
 */
export function adapterNetReference(net: AdapterNet, x: Float32Array, rows: number): Float64Array {
  const dense = (h: Float64Array, w: Float32Array, b: Float32Array, inF: number, outF: number) => {
    const y = new Float64Array(rows * outF);
    for (let r = 0; r < rows; r++) {
      for (let j = 0; j < outF; j++) {
        let s = b[j];
        for (let k = 0; k < inF; k++) s += h[r * inF + k] * w[j * inF + k];
        y[r * outF + j] = s;
      }
    }
    return y;
  };
  const relu = (v: Float64Array) => v.map((e) => e > 0 ? e : 0);
  let h = Float64Array.from(x);
  net.backbone.forEach((layer, i) => {
    h = relu(
      dense(h, layer.weight.data, layer.bias!.data, layer.inFeatures, layer.outFeatures),
    );
    const a = net.adapters[i];
    if (!a) return;
    const z = relu(dense(h, a.down[0].data, a.down[1].data, a.dim, a.bottleneck));
    const u = dense(z, a.up[0].data, a.up[1].data, a.bottleneck, a.dim);
    for (let k = 0; k < h.length; k++) u[k] += h[k];
    h = u;
  });
  const hd = net.head;
  return dense(h, hd.weight.data, hd.bias!.data, hd.inFeatures, hd.outFeatures);
}
