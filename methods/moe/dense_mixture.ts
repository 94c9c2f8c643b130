// The dense (soft) mixture of experts: every token goes to every expert, weighted by the
// router's softmax: the family's baseline, whose cost every sparse gate is timed against.
import { defineMoeMethod, SoftmaxRouter } from "../../bench/families/moe/mod.ts";

export const denseMixture = defineMoeMethod({
  id: "dense-mixture",
  family: "moe",
  title: "Dense mixture of experts (all experts, softmax weights)",
  fidelity: {
    level: "baseline",
    reason: "every expert on every token, weighted by a learned softmax router: the dense baseline",
  },
  description:
    "The soft mixture of Jacobs et al.: a linear router's softmax over all E experts weights every expert's output for every token. No sparsity, no auxiliary loss; the family's reference.",
  paper: {
    title: "Adaptive Mixtures of Local Experts",
    year: 1991,
    link: "https://doi.org/10.1162/neco.1991.3.1.79",
  },
  version: "1.0.0",
  parameters: {},
  capabilities: { requires: [], features: ["moe-layer", "layer-speed"] },
  notes:
    "The most accurate model on mnist-moe (98.01% at E = 8) at E times the expert compute of a top-1 gate.",
  impl: {
    trainedParams: [],
    nominalActive: (experts) => experts,
    createGate(shape, _params, ctx) {
      const E = shape.experts;
      const router = new SoftmaxRouter(shape, ctx.seed);
      return {
        parameters: () => [router.router.weight],
        route({ x, tokens }, mode) {
          const p = router.probabilities(x, tokens, mode);
          const experts = new Int32Array(tokens * E);
          for (let i = 0; i < experts.length; i++) experts[i] = i % E;
          return { tokens, k: E, experts, weights: p.slice(), auxLoss: 0, probabilities: p };
        },
        backward: (dWeights) => router.backward(dWeights, "dense-mixture"),
        // On WebGPU the softmax over every expert runs in WGSL, timed like the sparse gates'.
        gpuPlan: () => ({
          router: router.router.weight.data,
          select: "all",
          k: E,
          weighting: "probability",
          capacity: () => null,
        }),
      };
    },
  },
});
