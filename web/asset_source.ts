// The runner page's file source (datasets/file_source.ts): a loader's path is looked up in the
// asset manifest the bundle carries, fetched from /static/assets/<sha256>/<name>, and its sha256
// checked against the bundle's pin before a byte reaches the parser. A file the manifest lacks
// "does not exist" (so a missing checkpoint skips its cell, as in the CLI); a file the site does
// not serve, or one whose bytes differ, fails the cell with a message saying which.
import { sha256Hex } from "../bench/random.ts";
import { type FileSource, FileSourceError } from "../datasets/file_source.ts";

/** One served file: the path the loaders ask for, its pinned sha256 and size. */
export interface AssetEntry {
  /** Project-relative path ("datasets/…/models/x.json") or "npm:<pkg>@<version>/<path>". */
  key: string;
  sha256: string;
  bytes: number;
  /** The file's name in its URL, /static/assets/<sha256>/<name>. */
  name: string;
}

/** What the bundle carries: every asset by key. */
export interface AssetManifest {
  files: Record<string, AssetEntry>;
}

/** Where the page reads a file: /static/assets/<sha256>/<name>, relative to /static/. */
export function assetPath(entry: Pick<AssetEntry, "sha256" | "name">): string {
  return `assets/${entry.sha256}/${entry.name}`;
}

/**
 * What `import.meta.url` of a project file reads in the bundle: web/build.ts writes this prefix
 * plus the file's project path, so `new URL("./models/", import.meta.url)` keeps naming the
 * project folder, which is how the manifest keys committed files.
 */
export const PROJECT_URL = "file:///sparsebench/";

/** A fetched asset whose bytes are not the pinned ones, or that the site does not serve. */
export class AssetError extends FileSourceError {
  override name = "AssetError";
}

/** The manifest key of a loader's path: project-relative, or "npm:<pkg>@<version>/<path>". */
export function assetKeyOf(path: string | URL): string {
  const href = typeof path === "string" ? path : path.href;
  return href.startsWith(PROJECT_URL) ? href.slice(PROJECT_URL.length) : href;
}

/**
 * A file source that fetches the manifest's files from `base` (the URL of /static/).
 *
 * @param manifest the assets and their pinned sha256s, from the bundle
 * @param base the folder the asset paths are relative to
 * @param fetcher `fetch`, or a stand-in in tests
 */
export function assetSource(
  manifest: AssetManifest,
  base: URL,
  fetcher: (url: URL) => Promise<Response> = (url) => fetch(url),
): FileSource {
  // One fetch per file per page: the test split and a checkpoint serve every cell of a case.
  const fetched = new Map<string, Promise<Uint8Array>>();
  const read = async (key: string): Promise<Uint8Array> => {
    const entry = manifest.files[key];
    if (!entry) {
      throw new AssetError(
        `${key} is not among the site's pinned assets (web/browser_assets.ts lists them)`,
      );
    }
    const url = new URL(assetPath(entry), base);
    let response: Response;
    try {
      response = await fetcher(url);
    } catch (error) {
      throw new AssetError(`cannot fetch ${key} from ${url}: ${(error as Error).message}`);
    }
    if (!response.ok) {
      await response.body?.cancel();
      throw new AssetError(
        `the site does not serve ${key} with sha256 ${entry.sha256} (${url} answered ${response.status}): it was rebuilt from other files than this page's bundle; rebuild both with \`deno task bundle-browser\``,
      );
    }
    const bytes = new Uint8Array(await response.arrayBuffer());
    const actual = await sha256Hex(bytes);
    if (actual !== entry.sha256) {
      throw new AssetError(
        `${key} from ${url} has sha256 ${actual}, the page pins ${entry.sha256}: not used`,
      );
    }
    return bytes;
  };
  return {
    readFile(path) {
      const key = assetKeyOf(path);
      let bytes = fetched.get(key);
      if (!bytes) {
        bytes = read(key);
        // A failed fetch is not remembered: the next cell tries again.
        bytes.catch(() => fetched.delete(key));
        fetched.set(key, bytes);
      }
      return bytes;
    },
    exists: (path) => Promise.resolve(assetKeyOf(path) in manifest.files),
    npmPackageDir: (name, version) => `npm:${name}@${version}`,
    diskCache: false,
  };
}
