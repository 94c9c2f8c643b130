// A multilayer perceptron: Linear → ReLU → … → Linear, the reference classifier of the image tasks.
import { Linear, ReLU } from "./layers.ts";
import { initUniform, type Param } from "./param.ts";
import { hashString } from "../random.ts";
import type { UnitGroup } from "../families/pruning/mod.ts";

/** Linear layers of the given sizes (e.g. [784, 300, 100, 10]) with ReLU between them. */
export class Mlp {
  readonly sizes: readonly number[];
  readonly layers: Linear[];
  readonly #acts: ReLU[];

  constructor(sizes: readonly number[]) {
    if (sizes.length < 2) throw new RangeError(`An MLP needs at least 2 sizes: got [${sizes}]`);
    this.sizes = [...sizes];
    this.layers = sizes.slice(1).map((out, i) => new Linear(`fc${i + 1}`, sizes[i], out));
    this.#acts = this.layers.slice(1).map(() => new ReLU());
  }

  parameters(): Param[] {
    return this.layers.flatMap((l) => l.parameters());
  }

  /** Every Linear layer, the units pruning methods work on. */
  linears(): Linear[] {
    return this.layers;
  }

  /**
   * The hidden neurons, one group per hidden layer: neuron j of layer i is row j of `fc{i+1}`
   * (and its bias) and column j of the next layer. The classifier's outputs are not units.
   */
  units(): UnitGroup[] {
    return this.layers.slice(0, -1).map((layer, i): UnitGroup => ({
      name: layer.weight.name.replace(/\.weight$/, ""),
      kind: "neuron",
      size: layer.outFeatures,
      producers: [{ layer, offset: 0, width: 1 }],
      consumers: [{ layer: this.layers[i + 1], offset: 0, width: 1 }],
    }));
  }

  /** He-uniform weights (bound √(6/fan_in)), zero biases, from `seed`. */
  init(seed: number): void {
    for (const l of this.layers) {
      initUniform(l.weight, Math.sqrt(6 / l.inFeatures), hashString(l.weight.name, seed));
      l.bias?.data.fill(0);
    }
  }

  /** Logits [rows × classes] of inputs [rows × features]. */
  forward(x: Float32Array, rows: number): Float32Array {
    let h = x;
    this.layers.forEach((layer, i) => {
      h = layer.forward(h, rows);
      if (i < this.#acts.length) h = this.#acts[i].forward(h);
    });
    return h;
  }

  /** Backpropagates d(loss)/d(logits) into every parameter's gradient. */
  backward(dlogits: Float32Array): void {
    let d = dlogits;
    for (let i = this.layers.length - 1; i >= 0; i--) {
      d = this.layers[i].backward(d);
      if (i > 0) d = this.#acts[i - 1].backward(d);
    }
  }
}

/** Index of the largest logit of each row. */
export function argmaxRows(logits: Float32Array, rows: number): Int32Array {
  const c = logits.length / rows, out = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    let best = 0;
    for (let j = 1; j < c; j++) if (logits[r * c + j] > logits[r * c + best]) best = j;
    out[r] = best;
  }
  return out;
}
