/**
 * The MoE family's package, ahead of its first method: no MoE method or task exists yet, and
 * this package holds the contract they will share (types only). A method is a trainable gate
 * (`route(x) → (expert ids, weights)`); tasks train and evaluate a small MoE model with it
 * against the dense mixture of every expert. When the first method lands, the package gains its
 * `defineMoeMethod` wrapper, the CPU reference of routing and the gate's correctness check
 * (well-formed routings, GPU routing equal to the CPU reference), as the retrieval and pruning
 * packages have theirs.
 *
 * @module
 */
export type {
  Gate,
  GateContext,
  GateShape,
  MoeMethod,
  Routing,
  RoutingSummary,
} from "./_interface.ts";
