// Shared setup of the app tests: a temporary copy of the fixture folder and an app over it.
import { type AppOptions, createApp } from "../app.ts";
import { type Asset, loadAssets } from "../assets.ts";
import { ResultsStore } from "../store.ts";
import { writeFixtures } from "./fixture.ts";

let assets: Promise<Map<string, Asset>> | null = null;

/** A fresh results folder holding the fixtures, an app over it, and a cleanup. */
export async function fixtureApp(options: Partial<AppOptions> = {}) {
  const dir = await Deno.makeTempDir({ prefix: "sparsebench-server-" });
  await writeFixtures(dir);
  const logs: string[] = [];
  const store = new ResultsStore(dir, { checkIntervalMs: 0, log: (m) => logs.push(m) });
  await store.refresh();
  assets ??= loadAssets();
  const app = await createApp({ store, submitToken: null, assets: await assets, ...options });
  return {
    app,
    dir,
    store,
    logs,
    [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }),
  };
}
