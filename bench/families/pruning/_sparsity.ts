// What a pruned model keeps: the share of weights a target asks for, and the share its masks
// actually keep (the realized sparsity every pruning cell reports beside the nominal one).
import type { PrunableModel, PruneTarget } from "./_interface.ts";

/**
 * The share of weights a target keeps.
 *
 * @example
 * ```ts
 * import { targetDensity } from "./mod.ts";
 * targetDensity({ pattern: "n:m", n: 2, m: 4 }); // 0.5
 * ```
 */
export function targetDensity(target: PruneTarget): number {
  return target.pattern === "unstructured" ? 1 - target.sparsity : target.n / target.m;
}

/** The kept share of the prunable weights, as masks say (1 for a model without masks). */
export function realizedDensity(model: Pick<PrunableModel, "linears">): number {
  let kept = 0, total = 0;
  for (const l of model.linears()) {
    kept += l.weight.density() * l.weight.size;
    total += l.weight.size;
  }
  return total > 0 ? kept / total : 1;
}

/**
 * The metric name of a layer's realized density: `density_` and the weight's name without
 * `.weight`, lower-cased, every run of other characters as one `_` (metric names match
 * `^[a-z][a-z0-9_]*$`).
 *
 * @example
 * ```ts
 * import { layerDensityMetric } from "./mod.ts";
 * layerDensityMetric("blocks.0.attn.qkv.weight"); // "density_blocks_0_attn_qkv"
 * ```
 */
export function layerDensityMetric(weightName: string): string {
  const stem = weightName.replace(/\.weight$/, "").toLowerCase().replace(/[^a-z0-9]+/g, "_")
    .replace(/^_+|_+$/g, "");
  return `density_${stem || "layer"}`;
}

/** Each prunable layer's kept share as metrics `density_<layer>` ({@link layerDensityMetric}). */
export function layerDensities(model: Pick<PrunableModel, "linears">): Record<string, number> {
  return Object.fromEntries(
    model.linears().map((l) => [layerDensityMetric(l.weight.name), l.weight.density()]),
  );
}
