// The MoE layer every task builds and times, and the small model around it: y = h + Σ wᵢ·FFNᵢ(h)
// over the experts a gate picks, computed as gate → permutation of tokens by expert → one GEMM
// pair per expert over its tokens (no padding to a capacity) → weighted combine into the residual.
import { Linear, ReLU } from "../../nn/layers.ts";
import { initUniform, type Param } from "../../nn/param.ts";
import { hashString } from "../../random.ts";
import type { Gate, Routing } from "./_interface.ts";

/** The experts of one layer: each an FFN dim → hidden (ReLU) → dim. */
export interface MoeLayerShape {
  dim: number;
  experts: number;
  hidden: number;
}

/** One expert: fc1 (dim → hidden), ReLU, fc2 (hidden → dim), as the engine's layers. */
export class Expert {
  readonly fc1: Linear;
  readonly fc2: Linear;
  readonly act = new ReLU();
  constructor(name: string, dim: number, hidden: number) {
    this.fc1 = new Linear(`${name}.fc1`, dim, hidden);
    this.fc2 = new Linear(`${name}.fc2`, hidden, dim);
  }
  parameters(): Param[] {
    return [...this.fc1.parameters(), ...this.fc2.parameters()];
  }
  forward(x: Float32Array, rows: number): Float32Array {
    return this.fc2.forward(this.act.forward(this.fc1.forward(x, rows)), rows);
  }
  backward(dy: Float32Array): Float32Array {
    return this.fc1.backward(this.act.backward(this.fc2.backward(dy)));
  }
}

/**
 * Tokens grouped by expert: `order[offsets[e] … offsets[e+1])` are the (token·k + slot) indices
 * of the slots routed to expert e, in token order (a counting sort, stable).
 */
export interface ExpertPermutation {
  offsets: Int32Array;
  order: Int32Array;
}

/**
 * The permutation of a routing's non-empty slots by expert.
 *
 * @throws {RangeError} when a slot's expert is outside [−1, experts)
 */
export function permuteByExpert(routing: Routing, experts: number): ExpertPermutation {
  const counts = new Int32Array(experts + 1);
  for (const e of routing.experts) {
    if (e < -1 || e >= experts || !Number.isInteger(e)) {
      throw new RangeError(`Cannot permute as an expert id must be in [-1, ${experts}): got ${e}`);
    }
    if (e >= 0) counts[e + 1]++;
  }
  for (let e = 0; e < experts; e++) counts[e + 1] += counts[e];
  const offsets = counts.slice();
  const fill = counts.slice(0, experts);
  const order = new Int32Array(offsets[experts]);
  routing.experts.forEach((e, slot) => {
    if (e >= 0) order[fill[e]++] = slot;
  });
  return { offsets, order };
}

/** What one forward pass of the layer leaves for backward. */
interface LayerCache {
  routing: Routing;
  perm: ExpertPermutation;
  /** Each expert's outputs over its tokens, in permutation order (null: no token). */
  outputs: (Float32Array | null)[];
  tokens: number;
}

/** One MoE layer: a gate and its experts, with the residual around them. */
export class MoeLayer {
  readonly shape: MoeLayerShape;
  readonly gate: Gate;
  readonly experts: Expert[];
  #cache: LayerCache | null = null;

  constructor(shape: MoeLayerShape, gate: Gate) {
    this.shape = shape;
    this.gate = gate;
    this.experts = Array.from(
      { length: shape.experts },
      (_, e) => new Expert(`expert${e}`, shape.dim, shape.hidden),
    );
  }

  parameters(): Param[] {
    return [...this.gate.parameters(), ...this.experts.flatMap((e) => e.parameters())];
  }

  /**
   * y = h + Σ_slots w·FFN_e(h) for inputs h [tokens × dim]: a dropped token (no slot) passes
   * through the residual unchanged.
   */
  forward(
    h: Float32Array,
    tokens: number,
    ids: Uint32Array,
    mode: "train" | "eval",
  ): { y: Float32Array; routing: Routing } {
    const routing = this.gate.route({ x: h, tokens, ids }, mode);
    const y = this.combine(h, tokens, routing, mode);
    return { y, routing };
  }

  /** The experts and the combine for a given routing (the part after the gate). */
  combine(
    h: Float32Array,
    tokens: number,
    routing: Routing,
    mode: "train" | "eval" = "eval",
  ): Float32Array {
    const { dim, experts } = this.shape, k = routing.k;
    const perm = permuteByExpert(routing, experts);
    const y = h.slice(0, tokens * dim);
    const outputs: (Float32Array | null)[] = [];
    for (let e = 0; e < experts; e++) {
      const start = perm.offsets[e], n = perm.offsets[e + 1] - start;
      if (n === 0) {
        outputs.push(null);
        continue;
      }
      const xe = new Float32Array(n * dim);
      for (let p = 0; p < n; p++) {
        const t = (perm.order[start + p] / k) | 0;
        xe.set(h.subarray(t * dim, t * dim + dim), p * dim);
      }
      const ye = this.experts[e].forward(xe, n);
      outputs.push(ye);
      for (let p = 0; p < n; p++) {
        const slot = perm.order[start + p], t = (slot / k) | 0, w = routing.weights[slot];
        const o = t * dim, q = p * dim;
        for (let j = 0; j < dim; j++) y[o + j] += w * ye[q + j];
      }
    }
    this.#cache = mode === "train" ? { routing, perm, outputs, tokens } : null;
    return y;
  }

  /** ∂loss/∂h from ∂loss/∂y of the last "train" forward; accumulates every gradient. */
  backward(dy: Float32Array): Float32Array {
    const cache = this.#cache;
    if (!cache) throw new Error("Cannot run the MoE layer backward: no train-mode forward");
    const { routing, perm, outputs, tokens } = cache, { dim, experts } = this.shape;
    const k = routing.k;
    const dh = dy.slice(0, tokens * dim);
    const dWeights = new Float32Array(tokens * k);
    for (let e = 0; e < experts; e++) {
      const ye = outputs[e];
      if (!ye) continue;
      const start = perm.offsets[e], n = perm.offsets[e + 1] - start;
      const dye = new Float32Array(n * dim);
      for (let p = 0; p < n; p++) {
        const slot = perm.order[start + p], t = (slot / k) | 0, w = routing.weights[slot];
        let dot = 0;
        for (let j = 0; j < dim; j++) {
          dot += dy[t * dim + j] * ye[p * dim + j];
          dye[p * dim + j] = w * dy[t * dim + j];
        }
        dWeights[slot] = dot;
      }
      const dxe = this.experts[e].backward(dye);
      for (let p = 0; p < n; p++) {
        const t = (perm.order[start + p] / k) | 0;
        for (let j = 0; j < dim; j++) dh[t * dim + j] += dxe[p * dim + j];
      }
    }
    const dGate = this.gate.backward(dWeights);
    for (let i = 0; i < dh.length; i++) dh[i] += dGate[i];
    this.#cache = null;
    return dh;
  }
}

/** The image model: stem (inputs → dim, ReLU), one MoE layer with its residual, head (dim → classes). */
export interface MoeModelShape extends MoeLayerShape {
  inputs: number;
  classes: number;
}

/** inputs → Linear + ReLU → MoE layer (residual) → Linear → logits. */
export class MoeMlp {
  readonly shape: MoeModelShape;
  readonly stem: Linear;
  readonly stemAct = new ReLU();
  readonly layer: MoeLayer;
  readonly head: Linear;
  /** The routing of the last forward pass. */
  lastRouting: Routing | null = null;
  /** The MoE layer's input of the last forward pass [rows × dim]. */
  lastHidden: Float32Array | null = null;

  constructor(shape: MoeModelShape, gate: Gate) {
    this.shape = shape;
    this.stem = new Linear("stem", shape.inputs, shape.dim);
    this.layer = new MoeLayer(shape, gate);
    this.head = new Linear("head", shape.dim, shape.classes);
  }

  /** Every parameter, in checkpoint order: stem, gate, experts, head. */
  parameters(): Param[] {
    return [...this.stem.parameters(), ...this.layer.parameters(), ...this.head.parameters()];
  }

  /** He-uniform weights (bound √(6/fan_in)) and zero biases from `seed`; the gate inits itself. */
  init(seed: number): void {
    const linears = [this.stem, ...this.layer.experts.flatMap((e) => [e.fc1, e.fc2]), this.head];
    for (const l of linears) {
      initUniform(l.weight, Math.sqrt(6 / l.inFeatures), hashString(l.weight.name, seed));
      l.bias?.data.fill(0);
    }
  }

  /** Logits [rows × classes] of inputs [rows × inputs]; `ids` identify each row for the gate. */
  forward(
    x: Float32Array,
    rows: number,
    ids: Uint32Array,
    mode: "train" | "eval" = "eval",
  ): { logits: Float32Array; auxLoss: number } {
    const h = this.stemAct.forward(this.stem.forward(x, rows));
    const { y, routing } = this.layer.forward(h, rows, ids, mode);
    this.lastRouting = routing;
    this.lastHidden = h;
    return { logits: this.head.forward(y, rows), auxLoss: routing.auxLoss };
  }

  /** Backpropagates ∂loss/∂logits (the gate's auxiliary loss is added by its own backward). */
  backward(dlogits: Float32Array): void {
    const dy = this.head.backward(dlogits);
    const dh = this.layer.backward(dy);
    this.stem.backward(this.stemAct.backward(dh));
  }
}
