// `deno task site --out DIR [--base PATH] [--results DIR] [--without-runner]`: the leaderboard as
// a static site (for GitHub Pages): the same pages, CSV and JSON, written by asking the app for
// each of them, and the runner page's bundle, built first so the published /run page works.
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { labelsOf, readCatalogOrDefault } from "./catalog.ts";
import { ALL_DEVICES } from "./aggregate.ts";
import { createApp } from "./app.ts";
import { loadAssets } from "./assets.ts";
import { ResultsStore } from "./store.ts";

/** Options of {@link exportSite}. */
export interface SiteOptions {
  /** The results folder. */
  results: string;
  /** Where the site is written; created when missing. */
  out: string;
  /** The path the site is served under, such as "/sparsebench"; "" for the root. */
  base?: string;
  /**
   * Build the runner page's bundle first (`deno task bundle-browser`), and fail when it does not
   * build (default true). With false, a bundle already built is copied and /run otherwise says
   * it is not built.
   */
  buildRunner?: boolean;
}

const ROOT = fileURLToPath(new URL("../", import.meta.url));

// Through the task rather than an import: the server imports nothing of web/ (esbuild and the
// attention methods stay out of its module graph), and deno.json stays the one definition.
async function buildRunnerBundle(): Promise<void> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["task", "bundle-browser"],
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const log = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
  if (!out.success) {
    throw new Error(
      `Cannot export /static/runner.js: deno task bundle-browser exited with ${out.code}: ` +
        log.trim().slice(-2000),
    );
  }
  const wrote = log.match(/wrote \S+runner\.js[^\n]*/);
  console.error(wrote ? wrote[0] : "built the runner bundle");
}

/** Base paths accepted: absolute, no trailing slash, a safe alphabet. */
export const BASE_PATTERN = /^(\/[A-Za-z0-9._~-]+)*$/;

/** Where a site path is written inside the output folder. */
function fileFor(path: string): string {
  if (path.startsWith("/api/")) return `${path}.json`;
  // Static files keep their names, with or without a dot (an IDX file has none).
  if (path.startsWith("/static/")) return path;
  const last = path.slice(path.lastIndexOf("/") + 1);
  if (last.includes(".")) return path;
  return `${path.replace(/\/$/, "")}/index.html`;
}

/**
 * Writes every page, CSV and JSON document of the leaderboard into `out`.
 *
 * @param options results folder, output folder and base path
 * @returns the site paths written
 * @throws {Error} when the base path is malformed or a page does not render
 */
export async function exportSite(options: SiteOptions): Promise<string[]> {
  const base = options.base ?? "";
  if (!BASE_PATTERN.test(base)) {
    throw new Error(`--base must look like /name (no trailing slash): got '${base}'`);
  }
  const buildRunner = options.buildRunner ?? true;
  // Before the app starts: it reads the bundle once, when it loads its assets.
  if (buildRunner) await buildRunnerBundle();
  const methodInfo = await readCatalogOrDefault(null);
  const store = new ResultsStore(options.results, {
    checkIntervalMs: Infinity,
    labels: labelsOf(methodInfo),
  });
  const snap = await store.refresh();
  const assets = await loadAssets();
  const app = await createApp({
    store,
    methodInfo,
    links: { base, static: true },
    submitToken: null,
    assets,
  });
  const data = snap.data;
  const paths = [
    "/",
    "/best-any-label",
    "/runs",
    "/run",
    "/devices",
    "/static/app.js",
    "/static/app.css",
    "/static/chart.umd.min.js",
    "/api/health",
    "/api/runs",
    "/api/tasks",
    "/api/methods",
    "/api/schema",
    "/api/devices",
  ];
  // The runner page's bundle, where `deno task bundle-browser` built it; without it the /run
  // page says how to build it.
  const probe = await app.request("/static/runner.js");
  await probe.body?.cancel();
  if (probe.status === 200) {
    paths.push("/static/runner.js");
    // The data files it pins, under their content hashes (server/assets.ts).
    paths.push(
      ...[...assets.keys()].filter((k) => k.startsWith("assets/")).map((k) => `/static/${k}`),
    );
  } else if (buildRunner) {
    // Built, yet not where the server looks (server/assets.ts's RUNNER_BUNDLE): a site whose /run
    // says "not built" must not be published as if it were whole.
    throw new Error("Cannot export /static/runner.js: built, but the app does not serve it");
  } else console.error("no runner bundle: /run will say so (deno task bundle-browser builds it)");
  for (const id of data.runs.keys()) paths.push(`/runs/${id}`, `/api/runs/${id}`);
  for (const [id, task] of data.tasks) {
    paths.push(`/tasks/${id}`, `/tasks/${id}/leaderboard.csv`, `/api/tasks/${id}/leaderboard`);
    for (const device of [ALL_DEVICES, ...task.deviceIds]) {
      paths.push(`/tasks/${id}/device/${device}`);
    }
  }
  for (const id of data.methods.keys()) paths.push(`/methods/${id}`);

  for (const path of paths) {
    const res = await app.request(path);
    if (res.status !== 200) {
      throw new Error(`Cannot export ${path}: the app answered ${res.status}: ${await res.text()}`);
    }
    const file = join(options.out, fileFor(path));
    await Deno.mkdir(dirname(file), { recursive: true });
    await Deno.writeFile(file, new Uint8Array(await res.arrayBuffer()));
  }
  const missing = await app.request("/404-page-of-the-static-site");
  await Deno.writeTextFile(join(options.out, "404.html"), await missing.text());
  return paths;
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      out: { type: "string" },
      base: { type: "string" },
      results: { type: "string" },
      "without-runner": { type: "boolean" },
    },
    strict: true,
  });
  if (!values.out) {
    console.error(
      "usage: deno task site --out DIR [--base /path] [--results DIR] [--without-runner]",
    );
    Deno.exit(2);
  }
  try {
    const written = await exportSite({
      out: values.out,
      base: values.base ?? "",
      results: values.results ?? Deno.env.get("RESULTS_DIR") ?? "results/runs",
      buildRunner: !values["without-runner"],
    });
    console.error(`wrote ${written.length} pages and files to ${values.out}`);
  } catch (error) {
    console.error((error as Error).message);
    Deno.exit(1);
  }
}
