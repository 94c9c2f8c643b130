// Random pruning: seeded random scores, every layer at the target (uniform) or at Erdős–Rényi-
// Kernel layer densities. The floor below which a pruning criterion has learned nothing.
import {
  definePruningMethod,
  layerMask,
  parseTarget,
  rowMask,
  TARGET_PARAM,
} from "../../bench/families/pruning/mod.ts";
import { hashString, mulberry32 } from "../../bench/random.ts";

/** A layer's shape as ERK sees it: outputs × inputs. */
export interface LayerShape {
  rows: number;
  cols: number;
}

/**
 * Erdős–Rényi-Kernel layer densities for a model-wide density, as RigL's code computes them:
 * each layer's density ∝ (n_in + n_out)/(n_in·n_out), scaled so the layers together keep
 * `density` of their weights; a layer whose density would exceed 1 is kept dense and the rest are
 * rescaled, until none exceeds 1.
 *
 * @param shapes the prunable layers' shapes
 * @param density the share of all their weights to keep, in (0, 1]
 * @returns one density per layer, in order, each in (0, 1]
 * @throws {RangeError} when `density` is outside (0, 1]
 * @example
 * ```ts
 * import { erkDensities } from "./random.ts";
 * // A 10×10 and a 100×100 layer at 10% together: 0.2·ε and 0.02·ε with 100·0.2ε + 10,000·0.02ε = 1,010.
 * erkDensities([{ rows: 10, cols: 10 }, { rows: 100, cols: 100 }], 0.1); // ≈ [0.918, 0.0918]
 * ```
 */
export function erkDensities(shapes: readonly LayerShape[], density: number): number[] {
  if (!(density > 0 && density <= 1)) {
    throw new RangeError(
      `Cannot spread a density of ${density} over layers: it must be in (0, 1]`,
    );
  }
  const size = (s: LayerShape) => s.rows * s.cols;
  const raw = shapes.map((s) => (s.rows + s.cols) / size(s));
  const total = shapes.reduce((n, s) => n + size(s), 0);
  const dense = new Set<number>();
  for (;;) {
    // Weights the sparse layers must hold once the dense ones keep all of theirs.
    let kept = density * total, divisor = 0;
    shapes.forEach((s, i) => {
      if (dense.has(i)) kept -= size(s);
      else divisor += raw[i] * size(s);
    });
    const eps = kept / divisor;
    const sparse = shapes.map((_, i) => i).filter((i) => !dense.has(i));
    const maxRaw = Math.max(...sparse.map((i) => raw[i]));
    if (sparse.length === 0 || maxRaw * eps <= 1) {
      return shapes.map((_, i) => (dense.has(i) ? 1 : raw[i] * eps));
    }
    // As RigL: every layer at the largest raw density turns dense at once, then rescale.
    for (const i of sparse) if (raw[i] === maxRaw) dense.add(i);
  }
}

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
      const densities = target.pattern === "n:m" ? [] : params.density === "erk"
        ? erkDensities(
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
