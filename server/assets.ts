// The files under /static/: the page script and style shipped in server/static/, chart.js
// read from its npm package in Deno's cache, so the site works offline and without a CDN, and
// the runner page's bundle (runner.js) where `deno task bundle-browser` has built it, and the
// data files that bundle pins (listed in .build/web/assets.json), each under
// assets/<sha256>/<name>: the sha256 of the bytes served, hashed here, so a file changed since
// the build is not served under the hash the page expects (the page checks it again).
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

/** The asset list beside the runner bundle (web/build.ts's ASSETS_NAME). */
function assetListOf(bundle: URL | string): URL {
  return new URL("assets.json", typeof bundle === "string" ? new URL(`file://${bundle}`) : bundle);
}

/** What assets.json lists per file (web/browser_assets.ts's AssetList). */
interface ListedAsset {
  file: string;
  name: string;
}

const SAFE_NAME = /^[A-Za-z0-9._-]+$/;

/**
 * The data files the runner bundle pins, keyed `assets/<sha256>/<name>`; none where the bundle
 * or its list is not there.
 *
 * @throws {Error} when a listed file cannot be read (the list is stale: rebuild the bundle)
 */
export async function runnerDataAssets(bundle: URL | string): Promise<[string, Asset][]> {
  let listed: ListedAsset[];
  try {
    listed = JSON.parse(await Deno.readTextFile(assetListOf(bundle))).files;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw new Error(`cannot read the runner's asset list: ${(error as Error).message}`);
  }
  const out: [string, Asset][] = [];
  for (const { file, name } of listed) {
    if (!SAFE_NAME.test(name)) throw new Error(`the runner's asset list names '${name}'`);
    let body: Uint8Array;
    try {
      body = await Deno.readFile(file);
    } catch (error) {
      throw new Error(
        `cannot read ${file}, which the runner bundle pins (${
          (error as Error).message
        }): rebuild it with \`deno task bundle-browser\``,
      );
    }
    const sha = Array.from(
      new Uint8Array(await crypto.subtle.digest("SHA-256", body as BufferSource)),
      (b) => b.toString(16).padStart(2, "0"),
    ).join("");
    out.push([`assets/${sha}/${name}`, await asset(body, "application/octet-stream")]);
  }
  return out;
}

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
  const data = runner ? await runnerDataAssets(options.runnerBundle ?? RUNNER_BUNDLE) : [];
  return new Map([
    ...(runner ? [["runner.js", runner] as [string, Asset]] : []),
    ...data,
    ["app.js", await asset(await Deno.readFile(here("app.js")), "text/javascript; charset=utf-8")],
    ["app.css", await asset(await Deno.readFile(here("app.css")), "text/css; charset=utf-8")],
    [
      "chart.umd.min.js",
      await asset(await Deno.readFile(await chartJsPath()), "text/javascript; charset=utf-8"),
    ],
  ]);
}
