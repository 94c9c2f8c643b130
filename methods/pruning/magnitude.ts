// Magnitude pruning: keep the largest |W|, one-shot and training-free, each layer to the target
// or with one threshold over every prunable layer. The floor every score-based method must beat.
import {
  definePruningMethod,
  globalMasks,
  layerMask,
  type MaskTarget,
  parseTarget,
  type PrunableModel,
  rowMask,
  type ScoreMatrix,
  TARGET_PARAM,
} from "../../bench/families/pruning/mod.ts";

/** Where magnitudes are compared: within each layer, or over all prunable layers at once. */
export type MagnitudeScope = "layer" | "global";

/** |W| of every prunable layer, as score matrices [out × in]. */
export function magnitudeScores(model: Pick<PrunableModel, "linears">): ScoreMatrix[] {
  return model.linears().map((l) => ({
    scores: Float32Array.from(l.weight.data, Math.abs),
    rows: l.outFeatures,
    cols: l.inFeatures,
  }));
}

/**
 * The masks magnitude pruning sets: the largest |W| of each layer (`layer`) or of all layers
 * together (`global`); an N:M target keeps the N largest of every M inputs per row either way.
 *
 * @param model the model whose weights are scored
 * @param target what to prune to
 * @param scope where magnitudes are compared (unstructured targets only)
 * @returns one mask per layer of `model.linears()`, in order
 */
export function magnitudeMasks(
  model: Pick<PrunableModel, "linears">,
  target: MaskTarget,
  scope: MagnitudeScope,
): Float32Array[] {
  const scores = magnitudeScores(model);
  if (target.pattern === "n:m") return scores.map((s) => rowMask(s, target));
  if (scope === "global") return globalMasks(scores, target.sparsity);
  return scores.map((s) => layerMask(s, target.sparsity));
}

export const magnitudePruning = definePruningMethod({
  id: "magnitude",
  family: "pruning",
  title: "Magnitude pruning",
  fidelity: {
    level: "simplified",
    reason:
      "|W| masks as in the paper, one-shot: without its retraining or iterative prune–retrain schedule",
  },
  description:
    "Keeps the weights of largest magnitude |W|, each layer to the target (scope=layer) or with one threshold over all prunable layers (scope=global); N:M targets keep the N largest of every M inputs per row. One-shot, no calibration data, no retraining.",
  paper: {
    title: "Learning both Weights and Connections for Efficient Neural Networks",
    year: 2015,
    link: "https://arxiv.org/abs/1506.02626",
  },
  version: "1.0.0",
  parameters: {
    target: TARGET_PARAM,
    scope: {
      type: "enum",
      description:
        "where magnitudes are compared for an unstructured target: within each layer (every layer ends at the target) or over all prunable layers (one threshold; layers end at what their weights earn)",
      values: ["layer", "global"],
      default: "layer",
      sweep: ["layer", "global"],
    },
  },
  capabilities: { requires: [], features: ["mlp", "gpt"] },
  notes:
    "Departures from the paper: one-shot, without the paper's retraining after pruning (nor its iterative prune–retrain schedule); the per-layer threshold is the k-th largest |W| of the layer for the target (as the Wanda reference code's magnitude baseline), not the paper's quality parameter × the layer's weight standard deviation; ties go to the lower index. Every Linear layer the model lists is pruned, the sotu-lm's attention projections and output head included (the paper prunes every layer too); biases, embeddings and norms are never pruned. N:M targets (2:4, 4:8, 1:4: N kept of every M consecutive inputs) are per row whatever the scope, since the pattern is defined per row. No calibration data is read.",
  impl: {
    target: (params) => parseTarget(params.target),
    prune(model, _calibration, target, params) {
      const start = performance.now();
      const scope = params.scope === "global" ? "global" : "layer";
      const masks = magnitudeMasks(model, target, scope);
      model.linears().forEach((l, i) => l.weight.setMask(masks[i]));
      return Promise.resolve({ pruneMs: performance.now() - start });
    },
  },
});
