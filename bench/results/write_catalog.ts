// Regenerates results/catalog.json (`deno task catalog`): the metadata of every registered method
// and task, which run files do not repeat, for the leaderboard's method and task pages.
import { taskRegistry } from "../../datasets/mod.ts";
import { methodRegistry } from "../../methods/mod.ts";

/** The catalog's text: the same shape as `deno task bench --list --json`. */
export function catalogText(): string {
  const catalog = {
    methods: methodRegistry().list().map((m) => m.meta),
    tasks: taskRegistry().list().map((t) => t.meta),
  };
  return JSON.stringify(catalog, null, 2) + "\n";
}

export const CATALOG_PATH = new URL("../../results/catalog.json", import.meta.url);

if (import.meta.main) {
  await Deno.writeTextFile(CATALOG_PATH, catalogText());
  console.log(`wrote ${CATALOG_PATH.pathname}`);
}
