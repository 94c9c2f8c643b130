// The pruning family's contract: what every pruning method implements and what every pruning
// task provides. A method receives a trained model and calibration data, and sets weight masks
// (and may update the kept weights, as SparseGPT does); the task then scores and times the model.
import type { Linear } from "../../nn/layers.ts";
import type { Param } from "../../nn/param.ts";
import {
  defineMethod,
  type Method,
  type MethodDefinition,
  type ParamSpecs,
  type ParamValues,
  type ParamValuesOf,
} from "../../metadata.ts";
import type { UnitGroup } from "./_structured.ts";

/** A model as a pruning method sees it: its prunable layers and all its parameters. */
export interface PrunableModel {
  /** e.g. "mnist-mlp", "sotu-lm". */
  readonly id: string;
  /** The Linear layers a method may prune, in forward order (weights [out × in], masks on them). */
  linears(): Linear[];
  /** Every parameter (embeddings and norms included), e.g. for gradient-based scores. */
  parameters(): Param[];
  /** The units a structured target removes whole (hidden neurons, heads), where the model has them. */
  units?(): UnitGroup[];
}

/** How far {@link Calibration.run} needs to go. */
export interface CalibrationRunOptions {
  /** The layer whose inputs are wanted: each batch may stop once its input hooks have run. */
  until?: Linear;
}

/** Calibration data, fed through the model by the task. */
export interface Calibration {
  /** Rows (images or tokens) one `run()` feeds through the model. */
  readonly rows: number;
  /**
   * Runs every calibration batch forward through the model as it is now (masks applied), so
   * hooks on its layers (bench/nn/hooks.ts: Wanda norms, SparseGPT Gram) see the inputs. With
   * `until`, a batch may end once that layer's hooks have seen its input: a method gathering one
   * layer's inputs at a time relies on nothing after them.
   */
  run(options?: CalibrationRunOptions): void;
  /** Zeroes the gradients, then runs forward and backward on the calibration data (loss summed over batches). */
  gradients(): void;
  /** Batches `batchLogits` and `batchBackward` address (0 … batches−1). */
  readonly batches: number;
  /**
   * Runs calibration batch `b` forward and returns the model's logits for it, row-major
   * [rows of the batch × classes]: for a loss the method computes itself (distillation from the
   * dense model's logits, mask-predictor targets).
   */
  batchLogits(b: number): Float32Array;
  /** Backward from ∂loss/∂logits of the last `batchLogits` call, adding to the parameters' gradients. */
  batchBackward(dlogits: Float32Array): void;
}

/** What to prune to: a share of each layer's weights, unstructured or N:M (N kept of every M along the input). */
export type PruneTarget =
  | { pattern: "unstructured"; sparsity: number }
  | { pattern: "n:m"; n: number; m: number }
  /**
   * Whole units removed: `sparsity` of the hidden units (an MLP's neurons, a transformer's
   * heads and MLP neurons) go, as zero rows of the layer that makes them and zero columns of
   * the layer that reads them; the model can be shrunk to smaller dense matrices.
   */
  | { pattern: "structured"; sparsity: number }
  /**
   * Each prunable weight replaced by a product of stored factors ({@link FactorizedLayer}),
   * `compression` of the prunable layers' parameters removed (0.2 keeps 80%).
   */
  | { pattern: "factorized"; compression: number }
  /**
   * Activation sparsity decided per input: on average `sparsity` of the prunable layers'
   * multiply-adds skipped, as the layers' own counters measure on the scored inputs.
   */
  | { pattern: "activation"; sparsity: number };

/** The targets a weight mask realizes by itself: unstructured or N:M. */
export type MaskTarget = Extract<PruneTarget, { pattern: "unstructured" | "n:m" }>;

/**
 * A weight stored as `left · right` ([out × rank] · [rank × in]), as a factorizing method
 * (CoSpaDi's dictionary × sparse coefficients, truncated SVD) leaves it. The layer's effective
 * weight must equal the product; the gate recomputes it and counts what is stored.
 */
export interface FactorizedLayer {
  /** The layer, whose weight data the method set to the product. */
  layer: Linear;
  rank: number;
  /** [out × rank], row-major; zeros are not stored (a sparse coefficient matrix). */
  left: Float32Array;
  /** [rank × in], row-major; zeros are not stored. */
  right: Float32Array;
  /** Bytes of index data a sparse factor needs besides its values (e.g. its row indices). */
  indexBytes: number;
}

/** What a pruning method reports on what it did. */
export interface PruneReport {
  /** Wall time of the pruning itself (not of evaluation), training steps a method takes included. */
  pruneMs: number;
  /** For a "factorized" target: every prunable layer's factors. */
  factors?: FactorizedLayer[];
  /**
   * Method-specific figures the cell publishes as metrics (names `^[a-z][a-z0-9_]*$`), e.g.
   * ranks chosen, distillation steps, training rows seen.
   */
  metrics?: Record<string, number>;
}

/**
 * What a pruning method implements; `V` are its parameter values, typed by its specs, and `T`
 * the kind of target it prunes to (a mask-only method's `prune` sees only {@link MaskTarget}s).
 */
export interface PruningMethod<
  V extends Readonly<ParamValues> = ParamValues,
  T extends PruneTarget = PruneTarget,
> {
  /** The target its parameters ask for. */
  target(params: V): T;
  /** Sets masks on `model.linears()` (and may update kept weights) for `target`. */
  prune(
    model: PrunableModel,
    calibration: Calibration,
    target: T,
    params: V,
  ): Promise<PruneReport>;
}

/**
 * Declares a pruning method: `impl.target` and `impl.prune` receive its parameter values typed
 * by `parameters`, so no method casts them.
 *
 * @param definition metadata (family "pruning") and the implementation
 * @returns the frozen method, as the registry holds it
 * @throws {MetadataError} when the metadata does not satisfy the schema
 * @example
 * ```ts
 * import { definePruningMethod } from "./mod.ts";
 * const keepAll = definePruningMethod({
 *   id: "keep-all",
 *   family: "pruning",
 *   title: "Keep all",
 *   description: "prunes nothing",
 *   paper: { title: "None", year: 2024, link: "https://example.org" },
 *   fidelity: { level: "faithful", reason: "a test fixture" },
 *   version: "1.0.0",
 *   parameters: {
 *     sparsity: { type: "number", description: "asked", default: 0, min: 0, max: 0, sweep: [0] },
 *   },
 *   capabilities: { requires: [], features: ["mlp"] },
 *   impl: {
 *     target: (params) => ({ pattern: "unstructured", sparsity: params.sparsity }),
 *     prune: () => Promise.resolve({ pruneMs: 0 }),
 *   },
 * });
 * keepAll.meta.id; // "keep-all"
 * ```
 */
export function definePruningMethod<P extends ParamSpecs, T extends PruneTarget>(
  definition: MethodDefinition<P, PruningMethod<ParamValuesOf<P>, T>>,
): Method<PruningMethod> {
  // The registry calls `prune` only with the target `target` returned, so T narrows safely.
  return defineMethod(definition) as unknown as Method<PruningMethod>;
}
