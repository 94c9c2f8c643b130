// DHSA with its chunk boundaries predicted by a trained classifier (dhsa_boundary.ts), fitted on
// held-out inputs of the same model, in place of the cosine-threshold stand-in; chunk scoring,
// upsampling and top-k are dhsa-attention's.
import { boundaryPredictor } from "./dhsa_boundary.ts";
import { defineDhsa } from "./dhsa.ts";

const ID = "dhsa-trained-attention";

export const dhsaTrainedAttention = defineDhsa({
  id: ID,
  title: "DHSA (trained boundary predictor)",
  fidelity: {
    level: "simplified",
    reason:
      "boundary predictor: per-head logistic classifier on key window sums, fitted to attention-shift labels of held-out inputs, not the paper's encoder + MLP",
  },
  version: "1.0.0",
  description:
    "dhsa-attention with DHSA's chunk boundaries chosen by a trained predictor: per head, a logistic classifier over features of the keys before and after each position, fitted offline on held-out inputs of the same model to where the dense attention pattern shifts between consecutive keys; chunks are then scored, upsampled and top-k selected as dhsa-attention does.",
  notes: "See dhsa-attention's notes for the chunk scoring, top-k and costs.",
  threshold: {
    description:
      "a chunk ends before a key whose predicted boundary probability is above this (between the chunk length bounds)",
    default: 0.5,
    min: 0.01,
    max: 0.99,
  },
  boundary: (problem) => boundaryPredictor(problem, ID),
});
