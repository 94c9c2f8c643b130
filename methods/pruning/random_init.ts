// Random pruning at initialization: a seeded random mask (uniform or ERK layer densities) fixed
// before training, the sparse network trained from scratch with it; at two model widths, to test
// the paper's claim that random pruning closes on dense as the network widens.
import {
  allocateLayerDensities,
  defineSparseTrainingMethod,
  hiddenWidthParam,
  randomMask,
  unstructuredSparsity,
} from "../../bench/families/pruning/mod.ts";
import { hashString, mulberry32 } from "../../bench/random.ts";

export const randomInitSparseTraining = defineSparseTrainingMethod({
  id: "random-init",
  family: "pruning",
  title: "Random pruning at initialization (sparse training)",
  fidelity: {
    level: "faithful",
    reason:
      "a seeded random mask at uniform or ERK layer densities fixed at initialization and trained from scratch, as the paper; AdamW as the shared budget's optimizer",
  },
  description:
    "Prunes the freshly initialized MLP at random (seeded; every layer at the sparsity, or at Erdős–Rényi-Kernel densities) and trains the sparse network from scratch with the mask fixed. Two widths (784-300-100-10 and 784-600-200-10) test whether random pruning gets competitive as the model widens. The committed checkpoint is evaluated.",
  paper: {
    title:
      "The Unreasonable Effectiveness of Random Pruning: Return of the Most Naive Baseline for Sparse Training",
    year: 2022,
    link: "https://arxiv.org/abs/2202.02643",
  },
  version: "1.0.0",
  parameters: {
    sparsity: {
      type: "enum",
      description: "share of the Linear weights pruned at initialization (model-wide)",
      values: ["80%", "90%", "95%", "98%"],
      default: "90%",
      sweep: ["90%"],
    },
    allocation: {
      type: "enum",
      description:
        "layer densities: the same in every layer (uniform) or Erdős–Rényi-Kernel (erk, ∝ (n_in+n_out)/(n_in·n_out))",
      values: ["uniform", "erk"],
      default: "erk",
      sweep: ["uniform", "erk"],
    },
    width: hiddenWidthParam([1, 2]),
    seed: {
      type: "int",
      description: "seed of the random mask (each layer's stream from it and its name)",
      default: 0,
      min: 0,
      max: 2 ** 31 - 1,
      sweep: [0],
    },
  },
  capabilities: { requires: [], features: ["mlp"] },
  notes:
    "Trained by `deno task train mnist-mlp-random-init-…` within the shared budget (the dense-trained baseline's steps, data order, seed and AdamW, at the same width); the bench evaluates the committed checkpoint. The mask keeps exactly round(density·size) weights per layer, drawn by a seeded Fisher–Yates shuffle, and never changes; every layer is sparse, the classifier included. The one-shot `random` method applies such a mask to the trained dense model instead. The paper's 'wider' is a wider network at the same sparsity, so a width-2 model has 2.2× the weights and its dense-trained baseline is the width-2 dense one. FLOPs: every product counts kept weights only. Measured at 90% (6-epoch budget, paired bootstrap over the 10,000 test images): width 1, ERK 96.04% (−2.27 points [−2.60, −1.96] vs dense-trained) and uniform 94.43% (−3.88 [−4.29, −3.48]); width 2, ERK 97.46% (−1.09 [−1.35, −0.83] vs the width-2 dense) and uniform 96.89% (−1.66 [−1.95, −1.37]). Against RigL at the same sparsity and width, ERK random trails by 1.33 points [1.01, 1.66] at width 1 and 0.45 [0.21, 0.70] at width 2. Both of the paper's claims reproduce in direction: the gap to dense and to RigL shrinks as the network widens, and ERK beats uniform at both widths; neither gap closes at width 2. On Fashion-MNIST (same budget, no shifts) ERK random at 90% beats RigL outright: +0.37 [0.03, 0.72] at width 1, +0.51 [0.18, 0.85] at width 2; its gap to dense shrinks from −1.87 to −1.22 as the network widens.",
  impl: {
    target: (params) => ({
      pattern: "unstructured",
      sparsity: unstructuredSparsity(params.sparsity),
    }),
    training: {
      recipe: (p) =>
        `random-init-${p.allocation}-s${p.sparsity.slice(0, -1)}-w${p.width}` +
        (p.seed !== 0 ? `-seed${p.seed}` : ""),
      width: (p) => p.width,
      start(ctx, p) {
        const density = 1 - unstructuredSparsity(p.sparsity);
        const shapes = ctx.layers.map((l) => ({ rows: l.outFeatures, cols: l.inFeatures }));
        const densities = allocateLayerDensities(p.allocation, shapes, density);
        ctx.layers.forEach((l, i) => {
          const random = mulberry32(hashString(l.weight.name, p.seed));
          l.weight.setMask(randomMask(l.weight.size, densities[i], random));
        });
        return { denseWeightGradient: () => false };
      },
    },
  },
});
