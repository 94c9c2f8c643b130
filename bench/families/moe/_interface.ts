// The MoE family's contract, for the coming MoE issue: no MoE method or task exists yet, so this
// file holds types only (no implementation to fake). A method is a gate: `route(x) → (expert ids,
// weights)` with trainable parameters; tasks build a small MoE model around it, train it with
// the gate's parameters, and evaluate it. The dense mixture (every expert, softmax weights) is
// the baseline.
import type { GpuContext } from "../../gpu/device.ts";
import type { ParamValues } from "../../metadata.ts";
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
  /** The gate's auxiliary training loss for this batch (load balance, z-loss…), or 0. */
  auxLoss: number;
}

/** What a task tells a gate it creates. */
export interface GateContext {
  /** Seed of the gate's initialization and of anything random it does. */
  seed: number;
  /** The run's WebGPU device, or null; only gates that require "webgpu" use it. */
  gpu?: GpuContext | null;
}

/**
 * One layer's gate, as the task's model calls it. Its parameters are the engine's (`bench/nn`
 * Param: data and grad), optimized by the task together with the model's; a gate without
 * parameters (hash routing) returns none.
 */
export interface Gate {
  parameters(): Param[];
  /**
   * Routes each row of `x` [tokens × dim]; in "train" mode it caches what `backward` needs (and
   * may add exploration noise), in "eval" it is deterministic.
   */
  route(x: Float32Array, tokens: number, mode: "train" | "eval"): Routing;
  /**
   * Given ∂loss/∂weights [tokens × k] of the last "train" routing, accumulates the gradients of
   * the gate's parameters, its auxiliary loss scaled by `auxWeight` included, and returns
   * ∂loss/∂x [tokens × dim] through the gate.
   */
  backward(dWeights: Float32Array, auxWeight: number): Float32Array;
}

/**
 * What an MoE method implements; `V` are its parameter values, typed by its specs (as
 * `RetrievalMethod<V>` and `PruningMethod<V>` are). The first method adds `defineMoeMethod`,
 * the family's wrapper of `defineMethod`, beside this interface.
 */
export interface MoeMethod<V extends Readonly<ParamValues> = ParamValues> {
  /** A fresh gate for one MoE layer of `shape`. */
  createGate(shape: GateShape, params: V, ctx: GateContext): Gate;
}

/**
 * What an MoE task reports for a cell, beside its quality metric (loss, accuracy, bits per
 * byte) and its bootstrap interval: the routing's realized sparsity, measured on the evaluated
 * tokens, for the cell's `sparsity` (nominal `k / experts`, realized, FLOPs ratio).
 */
export interface RoutingSummary {
  /** Mean experts a token is actually sent to (empty slots excluded). */
  activeExpertsPerToken: number;
  /** Share of tokens dropped by a capacity limit. */
  droppedTokens: number;
  /** Tokens per expert / mean tokens per expert: max over experts (1 is perfectly balanced). */
  maxLoad: number;
  /** Expert FLOPs computed / the dense mixture's (gate FLOPs included). */
  flopsRatio: number;
}
