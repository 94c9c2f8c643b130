// SortedNet on the MLP: nested sub-networks (the first w·300 and w·100 hidden units) that share
// the full model's parameters, trained together: each step draws g sub-networks at random and
// accumulates their gradients before one update. Trained by its own recipe
// (datasets/mnist/train_sorted_mlp.ts) into one dense checkpoint per width; the bench evaluates
// each as a smaller dense model.
import { defineSparseTrainingMethod } from "../../bench/families/pruning/mod.ts";

/** The nested widths trained together, narrowest first (the sorted order). */
export const SORTED_WIDTHS = [0.25, 0.5, 0.75, 1] as const;

/**
 * The recipe's plan: the widths trained together and the draws per step.
 *
 * @throws {RangeError} when `subWidth` is not one of {@link SORTED_WIDTHS}
 */
export function sortedNetPlan(
  params: { subWidth: number; draws: number; seed: number },
): { widths: number[]; draws: number; seed: number } {
  if (!(SORTED_WIDTHS as readonly number[]).includes(params.subWidth)) {
    throw new RangeError(
      `sortednet's subWidth must be one of ${SORTED_WIDTHS.join(", ")}: got ${params.subWidth}`,
    );
  }
  return { widths: [...SORTED_WIDTHS], draws: params.draws, seed: params.seed };
}

export const sortedNet = defineSparseTrainingMethod({
  id: "sortednet",
  family: "pruning",
  title: "SortedNet (nested widths trained many-in-one)",
  fidelity: {
    level: "faithful",
    reason:
      "nested hidden widths sharing parameters, uniform random sub-network draws with gradient accumulation, one update per step; AdamW as the shared budget's",
  },
  description:
    "Trains the 784-300-100-10 MLP so that its leading sub-networks (the first w·300 and w·100 hidden units, w in 0.25, 0.5, 0.75, 1) work on their own: each step draws g sub-networks uniformly, runs each on the batch and accumulates their mean gradient into the shared weights, then updates only the sampled units. Each width is then a dense model with smaller matrices, stored and evaluated on its own.",
  paper: {
    title:
      "SortedNet, a Place for Every Network and Every Network in its Place: Towards a Generalized Solution for Training Many-in-One Neural Networks",
    year: 2023,
    link: "https://arxiv.org/abs/2309.00255",
  },
  version: "1.0.0",
  parameters: {
    subWidth: {
      type: "number",
      description: "the evaluated sub-network: hidden widths × this (0.25: 784-75-25-10)",
      default: 1,
      min: 0.25,
      max: 1,
      sweep: [0.25, 0.5, 0.75, 1],
    },
    draws: {
      type: "int",
      description:
        "g: sub-networks drawn per optimizer step, their gradients accumulated (4: as many passes as training the 4 widths separately)",
      default: 4,
      min: 1,
      max: 16,
      sweep: [4],
    },
    seed: {
      type: "int",
      description: "seed of the sub-network draws",
      default: 0,
      min: 0,
      max: 2 ** 31 - 1,
      sweep: [0],
    },
  },
  capabilities: { requires: [], features: ["mlp"] },
  notes:
    "Trained by `deno task train mnist-mlp-sortednet-…` (datasets/mnist/train_sorted_mlp.ts) on the shared budget's steps, data order, init seed and AdamW schedule; one run writes a checkpoint per width. Each step draws g = 4 widths uniformly with replacement (a separate seeded stream), runs each drawn sub-network's forward and backward on the step's batch (the sub-network's weights are the full model's leading rows and columns), adds 1/g of its gradient into the shared weights, and takes one AdamW step that touches only the widest drawn sub-network's parameters: entries outside keep their value and moments (in a framework with masked shared tensors their zero gradient would still move them through momentum and weight decay; here a sampled step updates the sampled sub-networks only). Budget rule: g = 4 draws per step over 2,580 steps is 10,320 sub-network passes, as many as training the 4 widths separately on the budget (dense-trained w0.25 … w1), and in expectation the same training FLOPs (each width is drawn 2,580 times on average). FLOPs: every product of each drawn sub-network, dense over its smaller matrices; the card's denseFlops is the width-1 dense model on the same steps. Measured on MNIST (one run, 2.43× dense-w1 training FLOPs, 27.7 wall / 2.4 CPU min at load 23; paired bootstrap over the 10,000 test images): widths 0.25, 0.5, 0.75, 1 at 96.63, 97.72, 97.93, 97.97% against the separately trained dense models' 97.04, 97.95, 98.19, 98.31: −0.41 [−0.71, −0.10], −0.23 [−0.48, 0.01], −0.26 [−0.50, −0.02], −0.34 [−0.56, −0.13] points. The sub-networks keep 98–99.6% of the separate models' accuracy (the paper reports ~96% of performance kept), so the many-in-one claim holds in that sense, but every width trails its own separately trained model by 0.2–0.4 points at the same total budget.",
  impl: {
    target: () => ({ pattern: "unstructured", sparsity: 0 }),
    training: {
      recipe: (p) =>
        `sortednet-g${p.draws}-sub${p.subWidth}` + (p.seed !== 0 ? `-seed${p.seed}` : ""),
      width: (p) => p.subWidth,
      start() {
        throw new Error(
          "sortednet trains its nested widths by its own recipe: `deno task train mnist-mlp-sortednet-g4-sub1`",
        );
      },
    },
  },
});
