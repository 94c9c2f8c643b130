// Random pruning: seeded random scores, every layer at the target (uniform) or at Erdős–Rényi-
// Kernel layer densities. The floor below which a pruning criterion has learned nothing.
import {
  definePruningMethod,
  erkLayerDensities,
  layerMask,
  parseTarget,
  rowMask,
  TARGET_PARAM,
} from "../../bench/families/pruning/mod.ts";
import { hashString, mulberry32 } from "../../bench/random.ts";

export const randomPruning = definePruningMethod({
  id: "random",
  family: "pruning",
  title: "Random pruning",
  fidelity: {
    level: "baseline",
    reason: "a seeded random mask applied one-shot: the floor every pruning criterion must beat",
  },
  description:
    "Keeps weights chosen at random (seeded): every layer at the target (density=uniform) or at Erdős–Rényi-Kernel layer densities (density=erk, RigL's allocation), N of every M inputs per row for N:M targets. The floor of every pruning criterion.",
  paper: {
    title: "Rigging the Lottery: Making All Tickets Winners",
    year: 2019,
    link: "https://arxiv.org/abs/1911.11134",
  },
  version: "1.0.0",
  parameters: {
    target: TARGET_PARAM,
    density: {
      type: "enum",
      description:
        "how an unstructured target is spread over layers: the same in every layer (uniform), or Erdős–Rényi-Kernel densities ∝ (n_in + n_out)/(n_in·n_out) scaled to the target (erk)",
      values: ["uniform", "erk"],
      default: "uniform",
      sweep: ["uniform", "erk"],
    },
    seed: {
      type: "int",
      description:
        "seed of the random scores (each layer's stream derives from it and the layer's name)",
      default: 0,
      min: 0,
      max: 2 ** 31 - 1,
      sweep: [0],
    },
  },
  capabilities: { requires: [], features: ["mlp", "gpt"] },
  notes:
    "A floor, not a paper's method: the paper cited is RigL's, for the Erdős–Rényi-Kernel layer densities (its code's allocation: raw density (n_in + n_out)/(n_in·n_out) per Linear layer — the kernel terms vanish for a Linear — times one scale so the model keeps the target; layers that would exceed 1 turn dense, those at the largest raw density at once, and the rest are rescaled). RigL trains from such a random mask; here the random mask is applied one-shot to the trained model, without retraining. Within a layer exactly round(density·size) weights are kept, chosen by seeded uniform scores (mulberry32 per layer, seeded from the `seed` parameter and the layer's name), so a mask is the same on every machine. N:M targets keep a random N of every M consecutive inputs per row; `density` does not apply to them. Every Linear layer the model lists is pruned, the sotu-lm's output head included; no calibration data is read.",
  impl: {
    target: (params) => parseTarget(params.target),
    prune(model, _calibration, target, params) {
      const start = performance.now();
      const layers = model.linears();
      const densities = target.pattern === "n:m"
        ? []
        : params.density === "erk"
        ? erkLayerDensities(
          layers.map((l) => ({ rows: l.outFeatures, cols: l.inFeatures })),
          1 - target.sparsity,
        )
        : layers.map(() => 1 - target.sparsity);
      layers.forEach((l, i) => {
        const next = mulberry32(hashString(l.weight.name, params.seed));
        const matrix = {
          scores: Float64Array.from({ length: l.weight.size }, next),
          rows: l.outFeatures,
          cols: l.inFeatures,
        };
        l.weight.setMask(
          target.pattern === "n:m" ? rowMask(matrix, target) : layerMask(matrix, 1 - densities[i]),
        );
      });
      return Promise.resolve({ pruneMs: performance.now() - start });
    },
  },
});
