// A mixture-of-experts feed-forward layer for the GPT engine: a float32 linear router, softmax
// over E experts, the top k kept (k = 1: the expert's output scaled by its probability, as
// Switch; k ≥ 2: the kept probabilities renormalized to sum to 1), each expert a GPT FFN
// (fc → GELU → proj), and the Switch load-balancing loss α·E·Σ fᵢPᵢ over first choices.
// Dropless: every token reaches its k experts (no capacity), so the layer is a function of its
// own token and a checkpoint scores the same at any batch size.
import {
  balanceLossGradient,
  firstChoiceBalanceLoss,
  type Gate,
  permuteByExpert,
  Router,
  type Routing,
  softmaxBackward,
  softmaxRows,
  topKIndices,
} from "../families/moe/mod.ts";
import { GELU, Linear } from "./layers.ts";
import type { Param } from "./param.ts";

/** E experts of hidden width `hidden`, k per token, balance weight α. */
export interface MoeFfnShape {
  dim: number;
  hidden: number;
  experts: number;
  k: number;
  alpha: number;
}

/** One expert: the dense GPT block's FFN at width `hidden`. */
class GeluExpert {
  readonly fc: Linear;
  readonly act = new GELU();
  readonly proj: Linear;
  constructor(name: string, dim: number, hidden: number) {
    // `.mlp.proj` so that Gpt.init scales it as a residual projection, as the dense FFN's.
    this.fc = new Linear(`${name}.mlp.fc`, dim, hidden);
    this.proj = new Linear(`${name}.mlp.proj`, hidden, dim);
  }
  parameters(): Param[] {
    return [...this.fc.parameters(), ...this.proj.parameters()];
  }
  forward(x: Float32Array, rows: number): Float32Array {
    return this.proj.forward(this.act.forward(this.fc.forward(x, rows)), rows);
  }
  backward(dy: Float32Array): Float32Array {
    return this.fc.backward(this.act.backward(this.proj.backward(dy)));
  }
}

/** What a forward pass leaves for backward. */
interface MoeFfnCache {
  x: Float32Array;
  rows: number;
  /** The layer's own routing's probabilities and first-choice shares (null: a gate's). */
  own: { p: Float32Array; f: Float64Array } | null;
  routing: Routing;
  offsets: Int32Array;
  order: Int32Array;
  outputs: (Float32Array | null)[];
}

/**
 * y = Σ_slots w·FFN_e(x) over each row's k experts (no residual: the block adds it). The
 * balance loss's gradient enters in {@link backward}; its value is {@link auxLoss}.
 */
export class MoeFfn {
  readonly shape: MoeFfnShape;
  readonly router: Router;
  readonly experts: GeluExpert[];
  /** α·E·Σ fᵢPᵢ of the last forward pass. */
  auxLoss = 0;
  /** The last forward pass's routing (experts, weights, router probabilities). */
  lastRouting: Routing | null = null;
  /**
   * A gate of the MoE family routing in place of the layer's own (a method's, the router's weight
   * copied in); null: the layer's own top-k. Its slots may be empty (dropped by a capacity).
   */
  gate: Gate | null = null;
  /** What the gate is asked for ("eval": deterministic, nothing kept for backward). */
  mode: "train" | "eval" = "train";
  #cache: MoeFfnCache | null = null;

  /**
   * @param seed the router's initialization seed (Gpt.init re-draws every weight anyway)
   * @throws {RangeError} when k is not in [1, experts]
   */
  constructor(name: string, shape: MoeFfnShape, seed = 0) {
    const { dim, hidden, experts, k } = shape;
    if (!Number.isInteger(k) || k < 1 || k > experts) {
      throw new RangeError(`MoE FFN '${name}': k must be an integer in [1, ${experts}]: got ${k}`);
    }
    this.shape = shape;
    // Switch's router scale N(0, 0.1/d); no bias, float32 as everything here.
    this.router = new Router(`${name}.router`, { dim, experts }, {
      std: Math.sqrt(0.1 / dim),
      seed,
    });
    this.experts = Array.from(
      { length: experts },
      (_, e) => new GeluExpert(`${name}.expert${e}`, dim, hidden),
    );
  }

  parameters(): Param[] {
    return [this.router.weight, ...this.experts.flatMap((e) => e.parameters())];
  }

  forward(x: Float32Array, rows: number): Float32Array {
    if (this.gate) {
      // Gates that route by token identity (hash) are not served: the layer sees features only.
      const routing = this.gate.route({ x, tokens: rows, ids: new Uint32Array(rows) }, this.mode);
      return this.#experts(x, rows, routing, null);
    }
    const { experts: E, k, alpha } = this.shape;
    const p = softmaxRows(this.router.logits(x, rows), rows, E);
    const chosen = new Int32Array(rows * k), weights = new Float32Array(rows * k);
    for (let t = 0; t < rows; t++) {
      const top = topKIndices(p, t * E, E, k);
      let kept = 0;
      for (let s = 0; s < k; s++) kept += p[t * E + top[s]];
      for (let s = 0; s < k; s++) {
        chosen[t * k + s] = top[s];
        weights[t * k + s] = k === 1 ? p[t * E + top[s]] : p[t * E + top[s]] / kept;
      }
    }
    const balance = firstChoiceBalanceLoss(p, (t) => chosen[t * k], {
      tokens: rows,
      experts: E,
      alpha,
    });
    const routing: Routing = {
      tokens: rows,
      k,
      experts: chosen,
      weights,
      auxLoss: balance.loss,
      probabilities: p,
    };
    return this.#experts(x, rows, routing, { p, f: balance.f });
  }

  /** The experts and the weighted combine for a routing. */
  #experts(
    x: Float32Array,
    rows: number,
    routing: Routing,
    own: { p: Float32Array; f: Float64Array } | null,
  ): Float32Array {
    const { dim, experts: E } = this.shape, { k, weights } = routing;
    this.auxLoss = routing.auxLoss;
    this.lastRouting = routing;
    const { offsets, order } = permuteByExpert(routing, E);
    const y = new Float32Array(rows * dim);
    const outputs: (Float32Array | null)[] = [];
    for (let e = 0; e < E; e++) {
      const start = offsets[e], n = offsets[e + 1] - start;
      if (n === 0) {
        outputs.push(null);
        continue;
      }
      const xe = new Float32Array(n * dim);
      for (let q = 0; q < n; q++) {
        const t = (order[start + q] / k) | 0;
        xe.set(x.subarray(t * dim, t * dim + dim), q * dim);
      }
      const ye = this.experts[e].forward(xe, n);
      outputs.push(ye);
      for (let q = 0; q < n; q++) {
        const slot = order[start + q], o = ((slot / k) | 0) * dim, w = weights[slot];
        for (let j = 0; j < dim; j++) y[o + j] += w * ye[q * dim + j];
      }
    }
    this.#cache = { x, rows, own, routing, offsets, order, outputs };
    return y;
  }

  /** ∂loss/∂x from ∂loss/∂y of the last forward (the balance loss's gradient added). */
  backward(dy: Float32Array): Float32Array {
    const cache = this.#cache;
    if (!cache) throw new Error("Cannot run the MoE FFN backward: no forward pass before it");
    this.#cache = null;
    const { x, rows, own, routing, offsets, order, outputs } = cache;
    const { dim, experts: E } = this.shape, k = routing.k;
    const dx = new Float32Array(rows * dim);
    const dWeights = new Float32Array(rows * k);
    for (let e = 0; e < E; e++) {
      const ye = outputs[e];
      if (!ye) continue;
      const start = offsets[e], n = offsets[e + 1] - start;
      const dye = new Float32Array(n * dim);
      for (let q = 0; q < n; q++) {
        const slot = order[start + q], o = ((slot / k) | 0) * dim, w = routing.weights[slot];
        let dot = 0;
        for (let j = 0; j < dim; j++) {
          dot += dy[o + j] * ye[q * dim + j];
          dye[q * dim + j] = w * dy[o + j];
        }
        dWeights[slot] = dot;
      }
      const dxe = this.experts[e].backward(dye);
      for (let q = 0; q < n; q++) {
        const o = ((order[start + q] / k) | 0) * dim;
        for (let j = 0; j < dim; j++) dx[o + j] += dxe[q * dim + j];
      }
    }
    const dGate = own
      ? this.#routerBackward(x, rows, routing, own, dWeights)
      : this.gate!.backward(dWeights);
    for (let i = 0; i < dx.length; i++) dx[i] += dGate[i];
    return dx;
  }

  #routerBackward(
    x: Float32Array,
    rows: number,
    routing: Routing,
    own: { p: Float32Array; f: Float64Array },
    dWeights: Float32Array,
  ): Float32Array {
    const { experts: E, alpha } = this.shape, k = routing.k, { p, f } = own;
    // ∂p: the balance loss's α·E·fᵢ/T everywhere, plus the mixing weights' share.
    const dp = balanceLossGradient(f, { tokens: rows, experts: E, alpha });
    for (let t = 0; t < rows; t++) {
      if (k === 1) {
        dp[t * E + routing.experts[t]] += dWeights[t];
        continue;
      }
      // w_s = p_s / S over the kept slots: ∂p_s = (∂w_s − Σ_r ∂w_r·w_r) / S.
      let kept = 0, dot = 0;
      for (let s = 0; s < k; s++) {
        kept += p[t * E + routing.experts[t * k + s]];
        dot += dWeights[t * k + s] * routing.weights[t * k + s];
      }
      for (let s = 0; s < k; s++) {
        dp[t * E + routing.experts[t * k + s]] += (dWeights[t * k + s] - dot) / kept;
      }
    }
    return this.router.backward(softmaxBackward(p, dp, rows, E), x, rows);
  }
}
