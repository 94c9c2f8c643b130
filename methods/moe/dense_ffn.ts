// The dense FFN of equal active parameters: one expert as wide as the `width` experts a sparse
// gate runs per token, every token through it. The control for "MoE beats dense at equal compute".
import { defineMoeMethod } from "../../bench/families/moe/mod.ts";

export const denseFfn = defineMoeMethod({
  id: "dense-ffn",
  family: "moe",
  title: "Dense FFN of equal active parameters",
  fidelity: {
    level: "baseline",
    reason:
      "one FFN of `width` experts' hidden units on every token: the equal-compute dense control",
  },
  description:
    "No routing: the MoE layer is replaced by one FFN whose hidden width is `width` experts' (width 1 matches top-1 gates' active parameters, 2 matches top-2 and expert choice at c = 2), trained with the same recipe.",
  paper: {
    title: "Attention Is All You Need",
    year: 2017,
    link: "https://arxiv.org/abs/1706.03762",
  },
  version: "1.0.0",
  parameters: {
    width: {
      type: "int",
      description: "hidden width in experts' widths (trained with it)",
      default: 1,
      min: 1,
      max: 64,
      sweep: [1, 2],
    },
  },
  capabilities: { requires: [], features: ["moe-layer", "layer-speed"] },
  impl: {
    trainedParams: ["width"],
    layout: (_experts, hidden, params) => ({ experts: 1, hidden: hidden * params.width }),
    nominalActive: (_experts, params) => params.width,
    createGate(shape) {
      return {
        parameters: () => [],
        route: ({ tokens }) => ({
          tokens,
          k: 1,
          experts: new Int32Array(tokens),
          weights: new Float32Array(tokens).fill(1),
          auxLoss: 0,
          probabilities: null,
        }),
        backward: (dWeights) => new Float32Array(dWeights.length * shape.dim),
      };
    },
  },
});
