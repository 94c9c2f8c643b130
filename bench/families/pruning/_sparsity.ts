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
