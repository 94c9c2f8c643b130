// Reads data files of a pinned npm package and refuses them unless the package's version and
// every file's sha256 match what the loader pinned.
import { SkipCase } from "../../bench/plugin.ts";

/** The package is absent, of another version, or a file's bytes differ from the pin. */
export class PinnedPackageError extends SkipCase {
  override name = "PinnedPackageError";
}

/** Hex sha256 of some bytes. */
export async function sha256OfBytes(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Hex sha256 of a string's UTF-8 bytes. */
export function sha256OfText(text: string): Promise<string> {
  return sha256OfBytes(new TextEncoder().encode(text));
}

/**
 * The folder of an installed npm package, after checking its version.
 *
 * @param load imports the package (a literal dynamic import, so Deno installs it with the rest)
 * @param resolvePackageJson `import.meta.resolve` of `<name>/package.json`
 * @throws {PinnedPackageError} naming the package when it cannot be loaded or has another version
 */
export async function pinnedPackageDir(
  name: string,
  version: string,
  load: () => Promise<unknown>,
  resolvePackageJson: () => string,
): Promise<string> {
  let packageJsonPath: string;
  try {
    await load();
    packageJsonPath = new URL(resolvePackageJson()).pathname;
  } catch (error) {
    throw new PinnedPackageError(
      `npm package '${name}@${version}' is not available (${
        (error as Error).message.split("\n")[0]
      }); install it with 'deno install' while the npm registry is reachable`,
    );
  }
  const found = JSON.parse(await Deno.readTextFile(packageJsonPath)).version;
  if (found !== version) {
    throw new PinnedPackageError(
      `npm package '${name}' must be version ${version} (pinned): found ${found}`,
    );
  }
  return packageJsonPath.slice(0, packageJsonPath.lastIndexOf("/"));
}

/**
 * Reads one file of a package and checks its sha256.
 *
 * @throws {PinnedPackageError} naming the package and file when missing or different
 */
export async function readPinnedFile(
  packageName: string,
  dir: string,
  relativePath: string,
  sha256: string,
): Promise<Uint8Array> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(`${dir}/${relativePath}`);
  } catch (error) {
    throw new PinnedPackageError(
      `npm package '${packageName}' lacks '${relativePath}': ${(error as Error).message}`,
    );
  }
  const found = await sha256OfBytes(bytes);
  if (found !== sha256) {
    throw new PinnedPackageError(
      `npm package '${packageName}': '${relativePath}' has sha256 ${found}, expected ${sha256} (pinned)`,
    );
  }
  return bytes;
}
