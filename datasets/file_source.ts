// Where the dataset loaders get file bytes: the one seam between parsing and storage. Under Deno
// (the default) a path or file: URL is read from disk; the runner page installs a source that
// fetches the site's pinned, hashed copy of the same file (web/asset_source.ts), so every loader
// keeps one parser and one code path for both.

/**
 * A failure the source words itself (an asset that does not match its pinned sha256, one the
 * site does not serve): the loaders pass it on as it is rather than as "missing, install it".
 */
export class FileSourceError extends Error {
  override name = "FileSourceError";
}

/** What the loaders need from storage. */
export interface FileSource {
  /** The file's bytes. @throws when it is missing (the loaders word the message) */
  readFile(path: string | URL): Promise<Uint8Array>;
  /** Whether the file is there, without reading it. */
  exists(path: string | URL): Promise<boolean>;
  /**
   * Where an npm package's files are, for {@link readFile}: the page has no node_modules, so it
   * names the package; null where the default lookup (Deno's npm resolution) applies.
   */
  npmPackageDir(name: string, version: string): string | null;
  /** Whether decoded data sets may be cached on this machine's disk (.cache/). */
  readonly diskCache: boolean;
}

/** Deno's file system: what the CLI, the trainers and the tests use. */
export const DENO_FILE_SOURCE: FileSource = {
  readFile: (path) => Deno.readFile(path),
  exists: (path) => Deno.stat(path).then(() => true, () => false),
  npmPackageDir: () => null,
  diskCache: true,
};

let current: FileSource = DENO_FILE_SOURCE;

/** The source in use. */
export function fileSource(): FileSource {
  return current;
}

/**
 * Makes every later load read through `source`; the page calls this once, before any run.
 *
 * @returns the source it replaced
 */
export function useFileSource(source: FileSource): FileSource {
  const previous = current;
  current = source;
  return previous;
}
