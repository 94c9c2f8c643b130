// The files under /static/: the page script and style shipped in server/static/, chart.js
// read from its npm package in Deno's cache, so the site works offline and without a CDN, and
// the runner page's bundle (runner.js) where `deno task bundle-browser` has built it, and the
// data files that bundle pins (listed in .build/web/assets.json), each under
// assets/<sha256>/<name>. Those are read on their first request, not at start (tens of MB that
// most visits never ask for), and hashed then: a file changed since the build is refused, not
// served under the hash the page expects (the page checks it again).
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

/** A static file held in memory: served with a strong ETag and long caching. */
export interface Asset {
  body: Uint8Array;
  type: string;
  etag: string;
  /**
   * For a pinned data file: reads it on first use (`body` is empty until then), resolving to
   * null when its bytes no longer hash to the pinned sha256.
   */
  load?: () => Promise<Asset | null>;
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
  sha256: string;
}

const SAFE_NAME = /^[A-Za-z0-9._-]+$/;
const SHA256 = /^[0-9a-f]{64}$/;

async function pinnedBody(file: string, sha256: string, type: string): Promise<Asset | null> {
  let body: Uint8Array;
  try {
    body = await Deno.readFile(file);
  } catch {
    return null;
  }
  const served = await asset(body, type);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", body as BufferSource));
  const sha = Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
  return sha === sha256 ? served : null;
}

/**
 * The data files the runner bundle pins, keyed `assets/<sha256>/<name>`, each read on its first
 * request; none where the bundle or its list is not there.
 *
 * @throws {Error} when the list does not parse or names a file unsafely (rebuild the bundle)
 */
export async function runnerDataAssets(bundle: URL | string): Promise<[string, Asset][]> {
  let listed: ListedAsset[];
  try {
    listed = JSON.parse(await Deno.readTextFile(assetListOf(bundle))).files;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw new Error(
      `cannot read the runner's asset list (${
        (error as Error).message
      }): rebuild it with \`deno task bundle-browser\``,
    );
  }
  return listed.map(({ file, name, sha256 }) => {
    if (!SAFE_NAME.test(name) || !SHA256.test(sha256)) {
      throw new Error(`the runner's asset list names '${name}' (${sha256}): rebuild it`);
    }
    let loaded: Promise<Asset | null> | null = null;
    // onnxruntime-web's loaders are imported as modules (and run its worker threads), which a
    // browser refuses under any other type.
    const type = name.endsWith(".mjs")
      ? "text/javascript; charset=utf-8"
      : "application/octet-stream";
    const entry: Asset = {
      body: new Uint8Array(0),
      type,
      // Content-addressed: the pinned hash is the entity tag, known before reading.
      etag: `"${sha256.slice(0, 24)}"`,
      load: () => (loaded ??= pinnedBody(file, sha256, type)),
    };
    return [`assets/${sha256}/${name}`, entry];
  });
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
