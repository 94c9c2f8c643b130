// The unpruned model: the baseline every pruning method is scored and timed against.
import { definePruningMethod } from "../../bench/families/pruning/mod.ts";

export const densePruning = definePruningMethod({
  id: "dense-unpruned",
  family: "pruning",
  title: "Dense (unpruned)",
  fidelity: {
    level: "baseline",
    reason: "the trained model with every weight kept: the reference of every pruning task",
  },
  description:
    "The reference model as trained, every weight kept: the baseline of every pruning task.",
  paper: {
    title: "Learning both Weights and Connections for Efficient Neural Networks",
    year: 2015,
    link: "https://arxiv.org/abs/1506.02626",
  },
  version: "1.0.0",
  parameters: {},
  capabilities: { requires: [], features: ["mlp", "gpt"] },
  notes:
    "Prunes nothing; the paper is the one the pruning baseline (the dense network) comes from.",
  impl: {
    target: () => ({ pattern: "unstructured", sparsity: 0 }),
    prune: () => Promise.resolve({ pruneMs: 0 }),
  },
});
