// The MoE family's contract: a method is a gate, `route(x) → (expert ids, weights)`, with
// trainable parameters; tasks build a small MoE model around it (bench/families/moe/_model.ts),
// train it with the gate's parameters, and evaluate the committed checkpoint. The dense mixture
// (every expert, softmax weights) is the baseline.
import {
  defineMethod,
  type Method,
  type MethodDefinition,
  type ParamSpecs,
  type ParamValues,
  type ParamValuesOf,
} from "../../metadata.ts";
import type { Param } from "../../nn/param.ts";

/** The layer a gate routes for. */
export interface GateShape {
  /** Features of each token's input to the layer (the model's width). */
  dim: number;
  /** Experts in the layer. */
  experts: number;
}

/**
 * A gate's decision for a batch of tokens: `k` slots per token, row-major [tokens × k]. A slot
 * whose expert is −1 is empty (a token dropped by a capacity limit, or routed to fewer experts).
 * The dense mixture routes every token to every expert (`k = experts`).
 */
export interface Routing {
  tokens: number;
  /** Slots per token. */
  k: number;
  /** Expert of each slot, in [0, experts) or −1; distinct within a token. */
  experts: Int32Array;
  /** Mixing weight of each slot: finite, ≥ 0 (0 for an empty slot). */
  weights: Float32Array;
  /** The gate's auxiliary training loss for this batch, its coefficient applied (or 0). */
  auxLoss: number;
  /**
   * The router's probability over experts for each token [tokens × experts], for the router
   * entropy figure; null where the gate has no router (hash routing).
   */
  probabilities: Float32Array | null;
}

/** What a gate is given for a batch: the layer inputs and each token's identity. */
export interface RouteInput {
  /** Layer inputs, row-major [tokens × dim]. */
  x: Float32Array;
  tokens: number;
  /**
   * A stable identity of each token, for gates that route by it (hash routing): a vocabulary id
   * in a language model; for images, a hash of the raw pixels as fed to the model.
   */
  ids: Uint32Array;
}

/** What a task tells a gate it creates. */
export interface GateContext {
  /** Seed of the gate's initialization and of anything random it does. */
  seed: number;
}

/**
 * One layer's gate, as the task's model calls it. Its parameters are the engine's (`bench/nn`
 * Param: data and grad), optimized by the task together with the model's; a gate without
 * parameters (hash routing) returns none.
 */
export interface Gate {
  parameters(): Param[];
  /**
   * Routes each token; in "train" mode it caches what `backward` needs (and may add exploration
   * noise), in "eval" it is deterministic.
   */
  route(input: RouteInput, mode: "train" | "eval"): Routing;
  /**
   * Given ∂loss/∂weights [tokens × k] of the last "train" routing, accumulates the gradients of
   * the gate's parameters (its auxiliary loss included, with its own coefficient) and returns
   * ∂loss/∂x [tokens × dim] through the gate.
   */
  backward(dWeights: Float32Array): Float32Array;
  /**
   * For gates whose training has a schedule (COMET's local search, then its hardened
   * permutation): the recipe calls it before each training step with the share of training done,
   * in [0, 1), and with 1 once training ends. Absent: no schedule.
   */
  progress?(fraction: number): void;
  /**
   * For gates whose evaluation routing the WebGPU layer can compute itself (a softmax router's
   * logits, softmax, top-k and capacity; a hash of the token ids; expert choice's per-expert
   * top-k over tokens: in WGSL, timed with the rest of the layer): how it routes in "eval" mode,
   * as of its current weights. Absent: the routing is the CPU's.
   */
  gpuPlan?(): GpuRoutePlan;
}

/**
 * A softmax-router gate's evaluation routing, as data the WebGPU layer runs (and
 * `gateReference` computes in float64): logits = x·Wᵀ, a softmax over experts, then the slots.
 */
export interface GpuGatePlan {
  /** Absent or "softmax-router": the plan of this interface (the other kinds name themselves). */
  kind?: "softmax-router";
  /** The router's weights [experts × dim]. */
  router: Float32Array;
  /** "top-k": the `k` highest-ranked experts, ties to the lower index; "all": every expert (k = E). */
  select: "top-k" | "all";
  /** Slots per token. */
  k: number;
  /**
   * What ranks the experts and weights the kept ones. "probability": the softmax over all E
   * (Switch, the dense mixture); "kept-softmax": the logits rank, and the weights are a softmax
   * over the k kept logits (noisy top-k gating at evaluation); "renormalized": the probabilities
   * rank, and each chosen one is divided by the sum of the k chosen (GShard's top-2);
   * "sigmoid": the logits rank, each weighted σ(logit) (BASE layers at evaluation).
   */
  weighting: "probability" | "kept-softmax" | "renormalized" | "sigmoid";
  /**
   * Each expert's capacity for a batch of `tokens` (overflow slots dropped in slot order, as the
   * CPU gate does), or null for a dropless gate.
   */
  capacity(tokens: number): number | null;
  /**
   * The order slots fill an expert's capacity in: "slot" (default: token by token, a token's
   * slots in rank order) or "choice" (every token's first choice in token order, then every
   * second choice: GShard's and DeepSpeed's top-2).
   */
  capacityOrder?: "slot" | "choice";
  /**
   * After the capacity cut, divide each token's kept weights by their sum (MoE-LLaVA's top-2:
   * a token whose second slot is dropped keeps weight 1 on its first). Default false.
   */
  renormalizeKept?: boolean;
}

/** Hash routing's evaluation (and training) routing: expert = hash(token id ⊕ seed) mod E, weight 1. */
export interface GpuHashPlan {
  kind: "hash";
  /** The gate's seed, as its CPU hash mixes it in (taken modulo 2³², as `^` does). */
  seed: number;
  /** Experts E. */
  experts: number;
  /** One slot per token. */
  k: 1;
}

/**
 * Expert-choice routing: a softmax router's probabilities S [tokens × E]; each expert takes the
 * `take(tokens)` tokens of largest S[·, e] (ties to the earlier token), weighted by S. Slots are
 * [tokens × E]: slot t·E + e holds e when expert e took token t, else −1.
 */
export interface GpuExpertChoicePlan {
  kind: "expert-choice";
  /** The router's weights [experts × dim]. */
  router: Float32Array;
  /** Slots per token: E. */
  k: number;
  /** Tokens each expert takes from a batch of `tokens` (in [1, tokens]). */
  take(tokens: number): number;
}

/**
 * Smooth-step selectors at evaluation (DSelect-k's binary codes, COMET's trees): decisions
 * S(w·x) with the cubic smooth-step, each selector's leaf probabilities the products along their
 * paths, mixed by softmax(A·x); leaf l's weight goes to expert l mod E (then to slot
 * `leafTarget[l mod E]`, COMET's permutation). Slots are [tokens × E]: an expert of weight 0
 * is empty.
 */
export interface GpuSelectorPlan {
  kind: "smooth-step-selectors";
  /** Decision weights [selectors·nodes × dim], selector-major. */
  decisions: Float32Array;
  /** Mixing weights [selectors × dim]; null for one selector (its weight is 1). */
  mix: Float32Array | null;
  selectors: number;
  /** "binary-code": one decision per bit; "tree": one per internal node, heap order. */
  layout: "binary-code" | "tree";
  /** Smooth-step width γ. */
  gamma: number;
  /** Slots per token: E. */
  k: number;
  /** The slot expert e's weight lands in (a permutation of 0…E−1); absent: e itself. */
  leafTarget?: Int32Array;
}

/** What a gate's `gpuPlan` returns: one of the routings the WebGPU layer runs in WGSL. */
export type GpuRoutePlan = GpuGatePlan | GpuHashPlan | GpuExpertChoicePlan | GpuSelectorPlan;

/** The experts a method's model has, where it differs from the task's (the dense FFN). */
export interface ExpertLayout {
  experts: number;
  /** Hidden width of each expert's FFN. */
  hidden: number;
}

/**
 * What an MoE method implements; `V` are its parameter values, typed by its specs (as
 * `RetrievalMethod<V>` and `PruningMethod<V>` are).
 */
export interface MoeMethod<V extends Readonly<ParamValues> = ParamValues> {
  /** A fresh gate for one MoE layer of `shape`. */
  createGate(shape: GateShape, params: V, ctx: GateContext): Gate;
  /**
   * Parameters that shape training (k, the capacity factor the model trained with…): a
   * checkpoint is trained for their values, so the task loads the checkpoint trained with the
   * cell's values; parameters not named here act at evaluation only (Switch's capacity factor).
   */
  trainedParams: readonly string[];
  /**
   * The layer's experts for a task that asks for `experts` of width `hidden`; absent: as asked.
   * The dense FFN of equal active parameters is one expert `width` experts wide.
   */
  layout?(experts: number, hidden: number, params: V): ExpertLayout;
  /** Experts a token is sent to, as declared (the nominal density is this / experts). */
  nominalActive(experts: number, params: V): number;
}

/**
 * Declares an MoE method: its hooks receive parameter values typed by `parameters`.
 *
 * @param definition metadata (family "moe") and the implementation
 * @returns the frozen method, as the registry holds it
 * @throws {MetadataError} when the metadata does not satisfy the schema
 * @example
 * ```ts
 * import { defineMoeMethod } from "./mod.ts";
 * const first = defineMoeMethod({
 *   id: "first-expert",
 *   family: "moe",
 *   title: "First expert",
 *   description: "sends every token to expert 0",
 *   paper: { title: "None", year: 2024, link: "https://example.org" },
 *   fidelity: { level: "baseline", reason: "a test fixture" },
 *   version: "1.0.0",
 *   parameters: {},
 *   capabilities: { requires: [], features: [] },
 *   impl: {
 *     trainedParams: [],
 *     nominalActive: () => 1,
 *     createGate: () => ({
 *       parameters: () => [],
 *       route: ({ tokens }) => ({
 *         tokens, k: 1, experts: new Int32Array(tokens), weights: new Float32Array(tokens).fill(1),
 *         auxLoss: 0, probabilities: null,
 *       }),
 *       backward: () => new Float32Array(0),
 *     }),
 *   },
 * });
 * first.meta.family; // "moe"
 * ```
 */
export function defineMoeMethod<P extends ParamSpecs>(
  definition: MethodDefinition<P, MoeMethod<ParamValuesOf<P>>>,
): Method<MoeMethod> {
  if (definition.family !== "moe") {
    throw new RangeError(
      `Cannot define '${definition.id}' as an MoE method: its family is '${definition.family}'`,
    );
  }
  return defineMethod(definition) as Method<MoeMethod>;
}
