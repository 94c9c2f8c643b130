// `deno task train mnist-to-fmnist-<recipe>`: one recipe per adapter method and combination of
// its swept parameters, and `mnist-to-fmnist-all`, which trains every one in turn.
import { type AdapterMethod, adapterOf } from "../../bench/families/moe/mod.ts";
import type { Method } from "../../bench/metadata.ts";
import { cartesian } from "../../bench/plan.ts";
import type { ImageSet } from "../mnist/idx.ts";
import { ADAPTER_PREFIX } from "./adapter_model.ts";
import { trainAdapter } from "./train_adapter.ts";

type Trainer = (log: (line: string) => void, args: string[]) => Promise<unknown>;

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
  const recipes: [string, Trainer][] = [];
  for (const method of methods) {
    const impl = adapterOf(method) as AdapterMethod | null;
    if (!impl) continue;
    const sweeps = Object.fromEntries(
      Object.entries(method.meta.parameters).map(([name, spec]) => [name, spec.sweep]),
    );
    for (const params of cartesian(sweeps)) {
      const name = `${ADAPTER_PREFIX}-${impl.recipe(params)}`;
      recipes.push([name, (log) =>
        trainAdapter({
          name,
          method: { id: method.meta.id, version: method.meta.version, params },
          impl,
          implParams: params as Record<string, number | string | boolean>,
          load,
          dataset: ADAPTER_TARGET,
        }, log)]);
    }
  }
  const all: Trainer = async (log, args) => {
    for (const [, train] of recipes) await train(log, args);
  };
  return { ...Object.fromEntries(recipes), [`${ADAPTER_PREFIX}-all`]: all };
}
