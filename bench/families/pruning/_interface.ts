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

/** A model as a pruning method sees it: its prunable layers and all its parameters. */
export interface PrunableModel {
  /** e.g. "mnist-mlp", "sotu-lm". */
  readonly id: string;
  /** The Linear layers a method may prune, in forward order (weights [out × in], masks on them). */
  linears(): Linear[];
  /** Every parameter (embeddings and norms included), e.g. for gradient-based scores. */
  parameters(): Param[];
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
}

/** What to prune to: a share of each layer's weights, unstructured or N:M (N kept of every M along the input). */
export type PruneTarget =
  | { pattern: "unstructured"; sparsity: number }
  | { pattern: "n:m"; n: number; m: number };

/** What a pruning method reports on what it did. */
export interface PruneReport {
  /** Wall time of the pruning itself (not of evaluation). */
  pruneMs: number;
}

/** What a pruning method implements; `V` are its parameter values, typed by its specs. */
export interface PruningMethod<V extends Readonly<ParamValues> = ParamValues> {
  /** The target its parameters ask for. */
  target(params: V): PruneTarget;
  /** Sets masks on `model.linears()` (and may update kept weights) for `target`. */
  prune(
    model: PrunableModel,
    calibration: Calibration,
    target: PruneTarget,
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
export function definePruningMethod<P extends ParamSpecs>(
  definition: MethodDefinition<P, PruningMethod<ParamValuesOf<P>>>,
): Method<PruningMethod> {
  return defineMethod(definition);
}
