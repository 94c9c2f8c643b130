// Sparse training in the pruning family: methods whose masks are learned while the model trains
// (SR-STE, SET, RigL, random pruning at initialization). `deno task train` runs a method's
// trainer inside a task's training loop and commits the checkpoint; the bench then evaluates the
// checkpoint as any pruned model, so the method's `prune` only reports: the task hands it the
// model with the trained weights and masks already loaded.
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
import type { MaskTarget, PruningMethod } from "./_interface.ts";
import type { DistillationWeights } from "./_distillation.ts";

/** What a training loop gives a method's trainer. */
export interface SparseTrainingContext {
  /** The prunable layers in forward order (their weights take the method's masks). */
  layers: readonly Linear[];
  /** Optimizer steps of the whole budget. */
  totalSteps: number;
  /** Optimizer steps per pass over the training data. */
  stepsPerEpoch: number;
  /**
   * Zeroes the optimizer's state (AdamW's moment estimates) of some entries of a parameter: a
   * connection a method grows starts fresh instead of inheriting a dropped one's momentum.
   */
  resetOptimizerState(param: Param, indices: readonly number[]): void;
  /**
   * The optimizer's learning rate at a step (the budget's schedule), for trainers whose own
   * updates are in the optimizer's units (CAST's L1 decay).
   */
  learningRate?(step: number): number;
  /**
   * The dense teacher's layers in forward order, when the method's {@link SparseTraining.teacher}
   * names one: read only (a trainer may copy them to start from the dense model).
   */
  teacher?: readonly Linear[];
}

/** A method's side of one training run; the loop calls the hooks around every step. */
export interface SparseTrainer {
  /**
   * Before step `step`'s forward pass (0-based): the masks set now are the ones its forward and
   * backward use (SR-STE recomputes its N:M mask here).
   */
  beforeForward?(step: number): void;
  /**
   * After step `step`'s forward pass, before its backward: the masks set now are the ones the
   * input-gradient product ∂x = ∂y·W uses, and the FLOPs count charges ∂x for them (BDWP prunes
   * W along the outputs for it). The weight gradient ∂W = ∂yᵀ·x does not see them. Methods
   * without it use the forward's masks in ∂x.
   */
  beforeBackward?(step: number): void;
  /**
   * After step `step`'s backward pass, before the optimizer's update: each weight's `grad` holds
   * ∂loss/∂(effective weight) for every entry, pruned ones included (the engine's dW product is
   * dense), so a topology update can grow by the dense gradient here (RigL) or add a term to it
   * (SR-STE's sparse-refined decay). Masks changed here apply from this step's update on.
   */
  afterBackward?(step: number): void;
  /**
   * Whether step `step`'s algorithm needs the weight gradient of every entry (dense dW: SR-STE's
   * straight-through estimator every step, RigL's growth at its update steps) rather than of the
   * kept ones only: the FLOPs count charges dW dense or sparse accordingly.
   */
  denseWeightGradient(step: number): boolean;
  /**
   * After the last step: leaves the masks the model is stored and evaluated with (SR-STE takes
   * the final weights' N:M mask); the loop then makes every mask hard (pruned weights zeroed).
   */
  finish?(): void;
  /** Counts the card records (topology updates, connections regrown). */
  figures?(): Record<string, number>;
  /**
   * FLOPs of the products the method ran on the activations beyond the step's three (G2GNet's
   * Hebbian statistic Σ yᵀ·x on its window steps), asked once after the last step: the card's
   * `flops.statistics`, in the total.
   */
  statisticsFlops?(): number;
  /**
   * How step `step`'s loss distills from the teacher (task and KD weights, temperature), or null
   * for the plain cross-entropy. Only asked when the method names a teacher; the loop then runs
   * the teacher's forward on the step's batch and counts it in the training FLOPs.
   */
  distillation?(step: number): DistillationWeights | null;
}

/** How a trained sparse method trains: its recipe's name, its model's width, and its trainer. */
export interface SparseTraining<V extends Readonly<ParamValues> = ParamValues> {
  /**
   * The name of the checkpoint these parameters are trained into, without the model's prefix,
   * e.g. "rigl-erk-s90-w1" (the task looks for `<model>-<recipe>`).
   */
  recipe(params: V): string;
  /** The hidden layers' width multiplier (1: the reference architecture). */
  width(params: V): number;
  /** Called once the model is initialized, before step 0: sets the initial masks. */
  start(context: SparseTrainingContext, params: V): SparseTrainer;
  /**
   * The recipe of the dense checkpoint these parameters distill from (e.g. "dense-trained-w1",
   * the same budget's dense model, loaded as `<model>-<recipe>` from the dataset's committed
   * models), or null; methods without it train without a teacher.
   */
  teacher?(params: V): string | null;
}

/** A pruning method whose masks come from training (its `prune` only reports). */
export interface SparseTrainingMethod<V extends Readonly<ParamValues> = ParamValues>
  extends PruningMethod<V, MaskTarget> {
  training: SparseTraining<V>;
}

/**
 * The method's training part, or null for a training-free method.
 *
 * @param method any pruning method
 * @returns its {@link SparseTraining} when it is a trained sparse method
 */
export function sparseTrainingOf(method: Method): SparseTraining | null {
  const impl = method.impl as Partial<SparseTrainingMethod>;
  return impl.training ?? null;
}

/**
 * Declares a sparse-training method: metadata, the target its trained masks realize, and its
 * {@link SparseTraining}. Its `prune` leaves the model as the task loaded it from the committed
 * checkpoint (weights and masks) and reports a load time of zero.
 *
 * @param definition metadata (family "pruning"), `target` and `training`
 * @returns the frozen method, as the registry holds it
 * @throws {MetadataError} when the metadata does not satisfy the schema
 */
export function defineSparseTrainingMethod<P extends ParamSpecs>(
  definition: Omit<MethodDefinition<P, never>, "impl"> & {
    impl: {
      target(params: ParamValuesOf<P>): MaskTarget;
      training: SparseTraining<ParamValuesOf<P>>;
    };
  },
): Method<PruningMethod> {
  const impl: SparseTrainingMethod<ParamValuesOf<P>> = {
    target: definition.impl.target,
    training: definition.impl.training,
    prune: () => Promise.resolve({ pruneMs: 0 }),
  };
  return defineMethod({ ...definition, impl } as MethodDefinition<
    P,
    SparseTrainingMethod<ParamValuesOf<P>>
  >) as unknown as Method<PruningMethod>;
}

/** FLOPs of one training step's three matrix products, summed over the layers. */
export interface StepFlops {
  /** y = x·Wᵀ: 2 per kept weight per row. */
  forward: number;
  /** ∂x = ∂y·W: 2 per kept weight per row (the masked weight's zeros skipped). */
  backwardInput: number;
  /** ∂W = ∂yᵀ·x: 2 per row for every weight when dense, per kept weight otherwise. */
  backwardWeight: number;
}

/** Kept entries of a weight: its mask's nonzeros, or all of them when it has none. */
function keptWeights(weight: Param): number {
  const m = weight.mask;
  if (!m) return weight.size;
  let kept = 0;
  for (let i = 0; i < m.length; i++) if (m[i] !== 0) kept++;
  return kept;
}

/**
 * The dense-equivalent FLOPs one training step executes on `layers` for `rows` examples, as a
 * sparse implementation of the method would run it: the forward product and the input gradient
 * count only the kept weights; the weight gradient counts every weight on steps whose algorithm
 * needs it dense and only the kept ones otherwise; a layer without a mask counts dense in all
 * three. Only the matrix products count (2 FLOPs per multiply-add): biases, activations, the
 * loss, the optimizer and mask updates are O(weights) or O(activations) per step, not
 * O(rows·weights), and are left out for every method alike. The first layer's input gradient is
 * counted although nothing consumes it, as the engine computes it and RigL's accounting counts
 * it (3× the forward for a dense step).
 *
 * @param layers the prunable layers, masks as they stand for the step's forward pass
 * @param rows examples in the step's batch
 * @param denseWeightGradient whether this step's weight gradient is needed for every weight
 * @returns the three products' FLOPs
 * @example
 * ```ts
 * import { Linear } from "../../nn/layers.ts";
 * import { trainingStepFlops } from "./mod.ts";
 * const layer = new Linear("fc", 4, 2); // 8 weights
 * layer.weight.setMask(Float32Array.from([1, 0, 0, 0, 1, 1, 0, 0])); // 3 kept
 * trainingStepFlops([layer], 5, false); // { forward: 30, backwardInput: 30, backwardWeight: 30 }
 * trainingStepFlops([layer], 5, true); // { forward: 30, backwardInput: 30, backwardWeight: 80 }
 * ```
 */
export function trainingStepFlops(
  layers: readonly Linear[],
  rows: number,
  denseWeightGradient: boolean,
): StepFlops {
  const flops = { forward: 0, backwardInput: 0, backwardWeight: 0 };
  for (const layer of layers) {
    const kept = keptWeights(layer.weight), all = layer.weight.size;
    flops.forward += 2 * rows * kept;
    flops.backwardInput += 2 * rows * kept;
    flops.backwardWeight += 2 * rows * (denseWeightGradient ? all : kept);
  }
  return flops;
}

/** The training cost a trained checkpoint's card records (`training` in the card). */
export interface TrainingCost {
  /** Optimizer steps taken. */
  steps: number;
  /** Training examples seen (steps × batch, the last batch of an epoch shorter). */
  examples: number;
  /**
   * {@link trainingStepFlops} summed over the steps: forward, ∂x, ∂W; with a teacher, also its
   * forward products on the distilling steps (2 per teacher weight per row), in the total.
   */
  flops: StepFlops & { teacherForward?: number; statistics?: number; total: number };
  /** What the same steps cost the dense model of the same sizes: 6 FLOPs per weight per example. */
  denseFlops: number;
  /** Wall time of the training loop (validation passes included), minutes. */
  wallMinutes: number;
  /** CPU time of the training process, minutes (on a shared machine, the steadier figure). */
  cpuMinutes: number;
  /** The 1-minute load average when training ended (os.loadavg()[0]). */
  loadAverage: number;
}

/** What the bench reads of a trained checkpoint's card. */
export interface TrainedCard {
  name: string;
  checkpoint: string;
  checkpointSha256: string;
  /** The model's layer sizes, e.g. [784, 300, 100, 10]. */
  sizes: number[];
  metrics: { testAccuracy: number; validationAccuracy: number };
  training: TrainingCost;
}

/** Metric descriptions of the figures {@link trainingCostMetrics} publishes (the MLP tasks list them). */
export const TRAINING_COST_METRICS = [
  {
    name: "train_flops",
    description:
      "training FLOPs of a trained sparse checkpoint (its card): forward, ∂x and ∂W products, kept weights only where the method's algorithm skips the rest, dense where it needs them (bench/families/pruning/_sparse_training.ts)",
    higherIsBetter: false,
  },
  {
    name: "train_flops_ratio",
    description:
      "train_flops / the FLOPs the dense model of the same sizes spends on the same steps (6 per weight per example)",
    higherIsBetter: false,
  },
  {
    name: "train_minutes",
    description: "training wall time of the checkpoint (its card; load average beside it there)",
    higherIsBetter: false,
    unit: "min",
  },
  {
    name: "train_steps",
    description: "optimizer steps the checkpoint was trained for (the shared budget)",
    higherIsBetter: false,
  },
  {
    name: "card_test_accuracy",
    description:
      "test accuracy the training run recorded in the card (the cell's accuracy must equal it)",
    higherIsBetter: true,
  },
] as const;

/**
 * A trained checkpoint's training cost as cell metrics.
 *
 * @param card the checkpoint's card
 * @returns train_flops, train_flops_ratio, train_minutes, train_steps, card_test_accuracy
 */
export function trainingCostMetrics(card: TrainedCard): Record<string, number> {
  const t = card.training;
  return {
    train_flops: t.flops.total,
    train_flops_ratio: t.flops.total / t.denseFlops,
    train_minutes: t.wallMinutes,
    train_steps: t.steps,
    card_test_accuracy: card.metrics.testAccuracy,
  };
}
