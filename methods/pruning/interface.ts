// The pruning family's contract: what every pruning method implements and what every pruning
// task provides. A method receives a trained model and calibration data, and sets weight masks
// (and may update the kept weights, as SparseGPT does); the task then scores and times the model.
import type { Linear } from "../../bench/nn/layers.ts";
import type { Param } from "../../bench/nn/param.ts";
import type { ParamValues } from "../../bench/metadata.ts";

/** A model as a pruning method sees it: its prunable layers and all its parameters. */
export interface PrunableModel {
  /** e.g. "mnist-mlp", "sotu-lm". */
  readonly id: string;
  /** The Linear layers a method may prune, in forward order (weights [out × in], masks on them). */
  linears(): Linear[];
  /** Every parameter (embeddings and norms included), e.g. for gradient-based scores. */
  parameters(): Param[];
}

/** Calibration data, fed through the model by the task. */
export interface Calibration {
  /** Rows (images or tokens) one `run()` feeds through the model. */
  readonly rows: number;
  /**
   * Runs every calibration batch forward through the model as it is now (masks applied), so
   * hooks on its layers (bench/nn/hooks.ts: Wanda norms, SparseGPT Gram) see the inputs.
   */
  run(): void;
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

/** What a pruning method implements. */
export interface PruningMethod {
  /** The target its parameters ask for. */
  target(params: ParamValues): PruneTarget;
  /** Sets masks on `model.linears()` (and may update kept weights) for `target`. */
  prune(
    model: PrunableModel,
    calibration: Calibration,
    target: PruneTarget,
    params: ParamValues,
  ): Promise<PruneReport>;
}

/** The share of weights a target keeps. */
export function targetDensity(target: PruneTarget): number {
  return target.pattern === "unstructured" ? 1 - target.sparsity : target.n / target.m;
}

/** The kept share of the prunable weights, as masks say. */
export function realizedDensity(model: PrunableModel): number {
  let kept = 0, total = 0;
  for (const l of model.linears()) {
    kept += l.weight.density() * l.weight.size;
    total += l.weight.size;
  }
  return kept / total;
}
