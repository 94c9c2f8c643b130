// The files under /static/: the page script and style shipped in server/static/, chart.js
// read from its npm package in Deno's cache, so the site works offline and without a CDN, and
// the runner page's bundle (runner.js) where `deno task bundle-browser` has built it.
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

/** A static file held in memory: served with a strong ETag and long caching. */
export interface Asset {
  body: Uint8Array;
  type: string;
  etag: string;
}

/**
 * A strong ETag of a body: a truncated SHA-256, computed once per body so that answering a
 * conditional request never hashes anything.
 *
 * @param body the bytes served
 * @returns the quoted entity tag
 */
export async function etagOf(body: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", body as BufferSource));
  return `"${Array.from(digest.slice(0, 12), (b) => b.toString(16).padStart(2, "0")).join("")}"`;
}

async function asset(body: Uint8Array, type: string): Promise<Asset> {
  return { body, type, etag: await etagOf(body) };
}

/**
 * The path of chart.js's self-contained UMD build inside the npm package.
 *
 * @throws {Error} when the package is not in Deno's npm cache and cannot be installed
 */
export async function chartJsPath(): Promise<string> {
  const require = createRequire(import.meta.url);
  let main: string;
  try {
    main = require.resolve("chart.js");
  } catch {
    // Not installed yet: importing it makes Deno fetch it (from the lockfile-pinned version).
    await import("chart.js");
    main = require.resolve("chart.js");
  }
  return join(dirname(main), "chart.umd.min.js");
}

/** Where `deno task bundle-browser` writes the runner bundle (web/build.ts's BUNDLE_DIR). */
export const RUNNER_BUNDLE = new URL("../.build/web/runner.js", import.meta.url);

/** The runner bundle's asset, or null when it has not been built. */
async function runnerBundle(path: URL | string): Promise<Asset | null> {
  try {
    return await asset(await Deno.readFile(path), "text/javascript; charset=utf-8");
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return null;
    throw error;
  }
}

/**
 * Loads every static asset, keyed by its file name under /static/.
 *
 * @param options `runnerBundle`: where the runner bundle is (default {@link RUNNER_BUNDLE});
 *   left out of the map when it is not there
 * @throws {Error} when a shipped file or chart.js cannot be read
 */
export async function loadAssets(
  options: { runnerBundle?: URL | string } = {},
): Promise<Map<string, Asset>> {
  const here = (name: string) => new URL(`./static/${name}`, import.meta.url);
  const runner = await runnerBundle(options.runnerBundle ?? RUNNER_BUNDLE);
  return new Map([
    ...(runner ? [["runner.js", runner] as [string, Asset]] : []),
    ["app.js", await asset(await Deno.readFile(here("app.js")), "text/javascript; charset=utf-8")],
    ["app.css", await asset(await Deno.readFile(here("app.css")), "text/css; charset=utf-8")],
    [
      "chart.umd.min.js",
      await asset(await Deno.readFile(await chartJsPath()), "text/javascript; charset=utf-8"),
    ],
  ]);
}
