// The dense model trained with the sparse-training budget: the baseline every sparse-training
// method's accuracy is compared with (same steps, data order, seed, optimizer and width).
import { defineSparseTrainingMethod } from "../../bench/families/pruning/mod.ts";

export const denseTrainedBaseline = defineSparseTrainingMethod({
  id: "dense-trained",
  family: "pruning",
  title: "Dense, trained with the sparse-training budget",
  fidelity: {
    level: "baseline",
    reason:
      "the dense MLP trained by the same loop, budget, data order and seed as every sparse-training method: their accuracy reference",
  },
  description:
    "The dense MLP (no mask) trained by the sparse-training loop on the shared budget, at width 1 (784-300-100-10) and 2 (784-600-200-10): what the sparse-training methods are compared with; at widths 0.25, 0.5 and 0.75 (784-75-25-10 …) SortedNet's sub-networks are compared with it. The committed checkpoint is evaluated.",
  paper: {
    title: "Rigging the Lottery: Making All Tickets Winners",
    year: 2020,
    link: "https://arxiv.org/abs/1911.11134",
  },
  version: "1.0.0",
  parameters: {
    width: {
      type: "number",
      description:
        "hidden widths × this (1: 784-300-100-10; 2: 784-600-200-10; 0.25, 0.5, 0.75: SortedNet's nested widths trained on their own)",
      default: 1,
      min: 0.25,
      max: 4,
      sweep: [0.25, 0.5, 0.75, 1, 2],
    },
  },
  capabilities: { requires: [], features: ["mlp"] },
  notes:
    "Trained by `deno task train mnist-mlp-dense-trained-w<width>`. The task's reference `dense-unpruned` is the 24-epoch reference checkpoint; this one spends the sparse-training budget (fewer epochs), so sparse-training methods are compared with it, not with the reference. The paper cited is RigL's, whose comparisons set every method against a dense model trained for the same steps. FLOPs: every product dense (6 per weight per example).",
  impl: {
    target: () => ({ pattern: "unstructured", sparsity: 0 }),
    training: {
      recipe: (p) => `dense-trained-w${p.width}`,
      width: (p) => p.width,
      start: () => ({ denseWeightGradient: () => true }),
    },
  },
});
