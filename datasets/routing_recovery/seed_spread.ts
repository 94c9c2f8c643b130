// How much of a gate's routing-recovery figure is its training seed: retrains chosen gates at a few
// more recipe seeds (model initialization and data order; the data stays the same) and reports
// each seed's ARI and error, their mean with a t-interval over seeds, and each gate's paired
// difference from a baseline gate (same seeds). The test-point intervals of the cards do not
// contain this variance.
import type { Method, ParamValues } from "../../bench/metadata.ts";
import { mean } from "../../bench/stats.ts";
import { ROUTING_RECOVERY_PARTITIONS, type RoutingRecoveryPartition } from "./generator.ts";
import { ROUTING_RECOVERY_RECIPE, trainRoutingRecovery } from "./train_routing_recovery.ts";

/** Two-sided 95% Student t quantiles by degrees of freedom (1–9). */
const T95 = [NaN, 12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262];

/** Mean and 95% t-interval of a few values (n ≥ 2, at most 10). */
export function tInterval(values: readonly number[]): { mean: number; low: number; high: number } {
  const n = values.length;
  if (n < 2 || n > T95.length) {
    throw new RangeError(`Cannot form a t-interval of ${n} values: need 2 to ${T95.length}`);
  }
  const m = mean(values);
  const sd = Math.sqrt(values.reduce((s, v) => s + (v - m) ** 2, 0) / (n - 1));
  const half = T95[n - 1] * sd / Math.sqrt(n);
  return { mean: m, low: m - half, high: m + half };
}

/** One gate configuration of the study. */
export interface SpreadGate {
  label: string;
  method: Method;
  params: ParamValues;
}

/**
 * Trains every gate at every seed on both partitions (into a temporary folder, removed after) and
 * returns the per-seed figures and their summaries; `baseline` names the gate differences are
 * taken against.
 */
export async function routingRecoverySeedSpread(
  gates: SpreadGate[],
  options: { seeds: number[]; baseline: string; log: (line: string) => void },
): Promise<Record<string, unknown>> {
  const dir = await Deno.makeTempDir({ prefix: "routing-recovery-seeds-" });
  const out = new URL(`file://${dir}/`);
  const result: Record<string, unknown> = {
    recipe: { ...ROUTING_RECOVERY_RECIPE, seeds: options.seeds },
    baseline: options.baseline,
  };
  try {
    for (const partition of ROUTING_RECOVERY_PARTITIONS as readonly RoutingRecoveryPartition[]) {
      const figures: Record<string, { ari: number[]; mse: number[] }> = {};
      for (const gate of gates) {
        figures[gate.label] = { ari: [], mse: [] };
        for (const seed of options.seeds) {
          const { card } = await trainRoutingRecovery({
            method: gate.method,
            params: gate.params,
            experts: 8,
            out,
            partition,
            seed,
          }, () => {});
          const m = card.metrics as Record<string, number>;
          figures[gate.label].ari.push(m.ari);
          figures[gate.label].mse.push(m.mse);
          options.log(
            `${partition} ${gate.label} seed ${seed}: ARI ${m.ari.toFixed(3)} MSE ${
              m.mse.toFixed(4)
            }`,
          );
        }
      }
      const base = figures[options.baseline];
      result[partition] = Object.fromEntries(
        Object.entries(figures).map(([label, f]) => [label, {
          ...f,
          ariMean: tInterval(f.ari),
          mseMean: tInterval(f.mse),
          ariMinusBaseline: tInterval(f.ari.map((v, i) => v - base.ari[i])),
          mseMinusBaseline: label === options.baseline
            ? null
            : tInterval(f.mse.map((v, i) => v - base.mse[i])),
        }]),
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  return result;
}
