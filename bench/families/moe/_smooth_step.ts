// What DSelect-k and COMET share: smooth-step binary selectors. A selector walks ⌈log₂E⌉ binary
// decisions, each s = S(w·x) with the cubic smooth-step S, which reaches exactly 0 and 1, so a
// converged selector puts all its mass on one leaf (one expert) and the rest get exactly 0.
// DSelect-k's selector has one decision per bit (its binary code); COMET's is a tree with one
// decision per internal node. k selectors are mixed by a softmax over them, and an entropy
// regularizer pushes each selector towards a single leaf.
import { Router, softmaxBackward, softmaxRows } from "./_router.ts";
import type { Param } from "../../nn/param.ts";

/**
 * The cubic smooth-step of Hazimeh et al.: 0 below −γ/2, 1 above γ/2, and
 * −2t³/γ³ + 3t/(2γ) + ½ between (continuously differentiable).
 */
export function smoothStep(t: number, gamma: number): number {
  if (t <= -gamma / 2) return 0;
  if (t >= gamma / 2) return 1;
  return -2 * t ** 3 / gamma ** 3 + 3 * t / (2 * gamma) + 0.5;
}

/** dS/dt: 0 outside (−γ/2, γ/2). */
export function smoothStepGrad(t: number, gamma: number): number {
  if (t <= -gamma / 2 || t >= gamma / 2) return 0;
  return -6 * t * t / gamma ** 3 + 3 / (2 * gamma);
}

/** How a selector's decisions are laid out. */
export type SelectorLayout = "binary-code" | "tree";

export interface SmoothStepSelectorOptions {
  /** Selectors k, mixed by a softmax over them. */
  selectors: number;
  /** "binary-code": one decision per bit (DSelect-k); "tree": one per internal node (COMET). */
  layout: SelectorLayout;
  /** Smooth-step width γ. */
  gamma: number;
  /** Weight λ of the entropy regularizer λ·mean over tokens of Σ_selectors H(leaf distribution). */
  entropyWeight: number;
  seed: number;
}

/** A forward pass, kept for backward. */
export interface SelectorPass {
  x: Float32Array;
  tokens: number;
  /** Decision pre-activations [tokens × k·nodes]. */
  a: Float32Array;
  /** Decisions S(a) [tokens × k·nodes]. */
  s: Float64Array;
  /** Each selector's leaf distribution [tokens × k × leaves]. */
  leaf: Float64Array;
  /** Softmax over selectors [tokens × k]. */
  alpha: Float32Array;
  /** The gate's weight on each expert [tokens × experts]: Σⱼ αⱼ Σ_{leaf ↦ expert} Pⱼ(leaf). */
  weights: Float32Array;
  /** The entropy regularizer's value, λ applied. */
  entropyLoss: number;
}

/**
 * k smooth-step selectors over E experts, each with 2^⌈log₂E⌉ leaves; leaf l belongs to expert
 * l mod E (for E a power of two, leaf l is expert l). Decision weights are linear maps of the
 * layer input with no bias, as the papers' per-example gates are.
 */
export class SmoothStepSelectors {
  readonly experts: number;
  readonly depth: number;
  readonly leaves: number;
  /** Decisions per selector: depth (binary code) or leaves − 1 (tree). */
  readonly nodes: number;
  readonly options: SmoothStepSelectorOptions;
  readonly decisions: Router;
  /** The selectors' mixing logits; null for one selector (α = 1). */
  readonly mix: Router | null;

  constructor(
    name: string,
    shape: { dim: number; experts: number },
    options: SmoothStepSelectorOptions,
  ) {
    if (!(Number.isInteger(options.selectors) && options.selectors >= 1)) {
      throw new RangeError(
        `Cannot build selectors: k must be an integer ≥ 1, got ${options.selectors}`,
      );
    }
    this.experts = shape.experts;
    this.depth = Math.ceil(Math.log2(shape.experts));
    this.leaves = 2 ** this.depth;
    this.nodes = options.layout === "tree" ? this.leaves - 1 : this.depth;
    this.options = options;
    const std = Math.sqrt(0.1 / shape.dim);
    this.decisions = new Router(`${name}.decisions`, {
      dim: shape.dim,
      experts: Math.max(1, options.selectors * this.nodes),
    }, { std, seed: options.seed });
    this.mix = options.selectors > 1
      ? new Router(`${name}.mix`, { dim: shape.dim, experts: options.selectors }, {
        std,
        seed: options.seed,
      })
      : null;
  }

  parameters(): Param[] {
    return this.mix ? [this.decisions.weight, this.mix.weight] : [this.decisions.weight];
  }

  /** The decision that leaf `leaf` takes at depth `b` (root 0): its index and which way (1: s). */
  #decision(leaf: number, b: number): { node: number; bit: number } {
    const D = this.depth, bit = (leaf >> (D - 1 - b)) & 1;
    const node = this.options.layout === "tree" ? (1 << b) - 1 + (leaf >> (D - b)) : b;
    return { node, bit };
  }

  forward(x: Float32Array, tokens: number): SelectorPass {
    const { selectors: k, gamma, entropyWeight } = this.options;
    const E = this.experts, L = this.leaves, N = this.nodes, D = this.depth;
    const a = N > 0 ? this.decisions.logits(x, tokens) : new Float32Array(0);
    const s = Float64Array.from(a, (v) => smoothStep(v, gamma));
    const alpha = this.mix
      ? softmaxRows(this.mix.logits(x, tokens), tokens, k)
      : new Float32Array(tokens).fill(1);
    const leaf = new Float64Array(tokens * k * L), weights = new Float32Array(tokens * E);
    let entropy = 0;
    for (let t = 0; t < tokens; t++) {
      for (let j = 0; j < k; j++) {
        const base = t * k * N + j * N, o = (t * k + j) * L;
        for (let l = 0; l < L; l++) {
          let p = 1;
          for (let b = 0; b < D && p > 0; b++) {
            const { node, bit } = this.#decision(l, b);
            p *= bit ? s[base + node] : 1 - s[base + node];
          }
          leaf[o + l] = p;
          if (p > 0) entropy -= p * Math.log(p);
          weights[t * E + (l % E)] += alpha[t * k + j] * p;
        }
      }
    }
    const entropyLoss = tokens > 0 ? entropyWeight * entropy / tokens : 0;
    return { x, tokens, a, s, leaf, alpha, weights, entropyLoss };
  }

  /**
   * Accumulates the decision and mixing weights' gradients from ∂loss/∂weights [tokens × experts]
   * and the entropy regularizer; returns ∂loss/∂x.
   */
  backward(pass: SelectorPass, dWeights: Float32Array): Float32Array {
    const { selectors: k, gamma, entropyWeight } = this.options;
    const { x, tokens, a, s, leaf, alpha } = pass;
    const E = this.experts, L = this.leaves, N = this.nodes, D = this.depth;
    const da = new Float32Array(tokens * k * N), dAlpha = new Float32Array(tokens * k);
    const factors = new Float64Array(D);
    for (let t = 0; t < tokens; t++) {
      for (let j = 0; j < k; j++) {
        const base = t * k * N + j * N, o = (t * k + j) * L, aj = alpha[t * k + j];
        for (let l = 0; l < L; l++) {
          const p = leaf[o + l], dw = dWeights[t * E + (l % E)];
          dAlpha[t * k + j] += dw * p;
          // ∂/∂P of αⱼ·P (the weights) and of λ/T·(−P ln P) (zero where P = 0: there a
          // saturated decision, whose S' is 0, holds the leaf shut).
          const dp = aj * dw + (p > 0 ? -entropyWeight * (Math.log(p) + 1) / tokens : 0);
          if (dp === 0) continue;
          for (let b = 0; b < D; b++) {
            const { node, bit } = this.#decision(l, b);
            factors[b] = bit ? s[base + node] : 1 - s[base + node];
          }
          for (let b = 0; b < D; b++) {
            let others = 1;
            for (let q = 0; q < D; q++) if (q !== b) others *= factors[q];
            if (others === 0) continue;
            const { node, bit } = this.#decision(l, b);
            const i = base + node;
            da[i] += (bit ? 1 : -1) * dp * others * smoothStepGrad(a[i], gamma);
          }
        }
      }
    }
    const dx = N > 0
      ? this.decisions.backward(da, x, tokens)
      : new Float32Array(tokens * this.decisions.dim);
    if (this.mix) {
      const dm = this.mix.backward(softmaxBackward(alpha, dAlpha, tokens, k), x, tokens);
      for (let i = 0; i < dx.length; i++) dx[i] += dm[i];
    }
    return dx;
  }
}
