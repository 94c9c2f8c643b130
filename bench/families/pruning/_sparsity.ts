// What a pruned model keeps: the share of weights a target asks for, and the share its masks
// actually keep (the realized sparsity every pruning cell reports beside the nominal one).
import type { FactorizedLayer, PrunableModel, PruneTarget } from "./_interface.ts";

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
  switch (target.pattern) {
    case "n:m":
      return target.n / target.m;
    case "factorized":
      return 1 - target.compression;
    default:
      return 1 - target.sparsity;
  }
}

/**
 * The share of the prunable layers' dense parameters that factors store: the nonzeros of both
 * factors (a sparse factor's index bytes are reported apart, as bytes).
 * A prunable layer without factors counts its effective weight's nonzeros.
 */
export function factorizedDensity(
  model: Pick<PrunableModel, "linears">,
  factors: readonly FactorizedLayer[],
): number {
  const byLayer = new Map(factors.map((f) => [f.layer, f]));
  let stored = 0, total = 0;
  for (const l of model.linears()) {
    total += l.weight.size;
    const f = byLayer.get(l);
    if (!f) stored += l.weight.density() * l.weight.size;
    else stored += nonzeros(f.left) + nonzeros(f.right);
  }
  return total > 0 ? stored / total : 1;
}

/**
 * The share of the dense multiply-adds the prunable layers executed since their counters were
 * last zeroed ({@link zeroMacCounters}); 1 when none ran.
 */
export function executedMacShare(model: Pick<PrunableModel, "linears">): number {
  let executed = 0, dense = 0;
  for (const l of model.linears()) {
    executed += l.macs.executed;
    dense += l.macs.dense;
  }
  return dense > 0 ? executed / dense : 1;
}

/** Zeroes every prunable layer's multiply-add counters (before the inputs a task scores). */
export function zeroMacCounters(model: Pick<PrunableModel, "linears">): void {
  for (const l of model.linears()) {
    l.macs.executed = 0;
    l.macs.dense = 0;
  }
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
  return layerMetric("density", weightName);
}

/**
 * A per-layer metric's name: `prefix_` and the weight's name without `.weight`, lower-cased,
 * every run of other characters as one `_`.
 */
export function layerMetric(prefix: string, weightName: string): string {
  const stem = weightName.replace(/\.weight$/, "").toLowerCase().replace(/[^a-z0-9]+/g, "_")
    .replace(/^_+|_+$/g, "");
  return `${prefix}_${stem || "layer"}`;
}

/** Each prunable layer's kept share as metrics `density_<layer>` ({@link layerDensityMetric}). */
export function layerDensities(model: Pick<PrunableModel, "linears">): Record<string, number> {
  return Object.fromEntries(
    model.linears().map((l) => [layerDensityMetric(l.weight.name), l.weight.density()]),
  );
}

function nonzeros(values: Float32Array): number {
  let n = 0;
  for (const v of values) if (v !== 0) n++;
  return n;
}
