// `deno task train mnist-to-fmnist-<recipe>`: one recipe per adapter method and combination of
// its swept parameters, and `mnist-to-fmnist-all`, which trains every one in turn.
import { type AdapterMethod, adapterOf } from "../../bench/families/moe/mod.ts";
import type { Method } from "../../bench/metadata.ts";
import { cartesian } from "../../bench/plan.ts";
import type { ImageSet } from "../mnist/idx.ts";
import { ADAPTER_PREFIX } from "./adapter_model.ts";
import { ADAPTER_RECIPE, trainAdapter } from "./train_adapter.ts";
import { bootstrapInterval, mean } from "../../bench/stats.ts";

type Trainer = (log: (line: string) => void, args: string[]) => Promise<unknown>;

/** Recipe seeds of the seed-spread study: the committed one first. */
export const SPREAD_SEEDS = [ADAPTER_RECIPE.seed, 1, 2, 3];

/** The recipes the seed-spread study retrains: the dense adapter and MoSA's two splits. */
const SPREAD_RECIPES = ["adapter-r32", "mosa-r32-k4", "mosa-r32-k4-sharedown"];

/** The dataset the recipes adapt to. */
export const ADAPTER_TARGET = { id: "fashion-mnist", source: "Debian dataset-fashion-mnist" };

/**
 * The recipes of every adapter method, named `<ADAPTER_PREFIX>-<recipe>`.
 *
 * @param methods the adapter methods (the CLI entry passes the registry's list)
 * @param load the target dataset's loader
 * @returns trainers by name, `<ADAPTER_PREFIX>-all` among them
 */
export function adapterTrainers(
  methods: readonly Method[],
  load: (split: "train" | "test") => Promise<ImageSet>,
): Record<string, Trainer> {
  const spread: {
    recipe: string;
    train: (log: (line: string) => void, extra: { seed?: number; out?: URL }) => Promise<
      Record<string, unknown>
    >;
  }[] = [];
  const recipes: [string, Trainer][] = [];
  for (const method of methods) {
    const impl = adapterOf(method) as AdapterMethod | null;
    if (!impl) continue;
    const sweeps = Object.fromEntries(
      Object.entries(method.meta.parameters).map(([name, spec]) => [name, spec.sweep]),
    );
    for (const params of cartesian(sweeps)) {
      const recipe = impl.recipe(params), name = `${ADAPTER_PREFIX}-${recipe}`;
      const train = (log: (line: string) => void, extra: { seed?: number; out?: URL } = {}) =>
        trainAdapter({
          name,
          method: { id: method.meta.id, version: method.meta.version, params },
          impl,
          implParams: params as Record<string, number | string | boolean>,
          load,
          dataset: ADAPTER_TARGET,
          ...extra,
        }, log);
      recipes.push([name, (log) => train(log)]);
      if (SPREAD_RECIPES.includes(recipe)) spread.push({ recipe, train });
    }
  }
  const all: Trainer = async (log, args) => {
    for (const [, train] of recipes) await train(log, args);
  };
  return {
    ...Object.fromEntries(recipes),
    [`${ADAPTER_PREFIX}-all`]: all,
    [`${ADAPTER_PREFIX}-seed-spread`]: (log) => seedSpread(spread, log),
  };
}

/**
 * `mnist-to-fmnist-seed-spread`: the dense adapter and MoSA retrained at {@link SPREAD_SEEDS}
 * (into a temporary folder), each seed's test accuracy and MoSA − adapter, with a bootstrap
 * interval over the seeds of the mean difference; writes datasets/adapter_transfer/seed_spread.json.
 */
async function seedSpread(
  recipes: {
    recipe: string;
    train: (log: (line: string) => void, extra: { seed?: number; out?: URL }) => Promise<
      Record<string, unknown>
    >;
  }[],
  log: (line: string) => void,
): Promise<unknown> {
  const out = new URL(`file://${await Deno.makeTempDir({ prefix: "adapter-spread-" })}/`);
  const accuracy: Record<string, number[]> = {};
  for (const seed of SPREAD_SEEDS) {
    for (const r of recipes) {
      const card = await r.train(log, { seed, out });
      (accuracy[r.recipe] ??= []).push((card.metrics as { testAccuracy: number }).testAccuracy);
    }
  }
  await Deno.remove(out, { recursive: true });
  const base = accuracy["adapter-r32"];
  const differences = Object.fromEntries(
    Object.entries(accuracy).filter(([k]) => k !== "adapter-r32").map(([k, v]) => {
      const d = v.map((a, i) => a - base[i]);
      const [low, high] = bootstrapInterval(d, mean);
      return [k, { perSeed: d, mean: mean(d), ci95: [low, high] }];
    }),
  );
  const result = {
    seeds: SPREAD_SEEDS,
    testAccuracy: accuracy,
    minusAdapter: differences,
    note:
      "ci95: percentile bootstrap over the seeds of the mean difference (few seeds: a rough interval)",
  };
  const file = new URL("./seed_spread.json", import.meta.url);
  await Deno.writeTextFile(file, JSON.stringify(result, null, 2) + "\n");
  log(`wrote ${file.pathname}: ${JSON.stringify(differences)}`);
  return result;
}
