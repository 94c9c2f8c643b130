// Method metadata the run files do not carry (paper, year, parameter docs), read from the JSON
// that `deno task bench --list --json` prints. Optional: pages simply omit what is missing.
import { z } from "zod";
import { Fidelity, MethodMetaFields } from "../bench/metadata.ts";

/**
 * What the pages read of a method's metadata: the fields run files do not carry, as the metadata
 * schema declares them. Other fields of the listing are dropped, not refused.
 */
export const MethodListing = MethodMetaFields.pick({
  id: true,
  description: true,
  paper: true,
  parameters: true,
  notes: true,
  // Optional here: a listing written before methods declared their fidelity still reads.
}).extend({ fidelity: Fidelity.optional() }).strip();

/** A method's metadata as the method page shows it. */
export type MethodInfo = Omit<z.infer<typeof MethodListing>, "id">;

const Listing = z.object({ methods: z.array(MethodListing) });

/**
 * Reads method metadata from a `--list --json` listing.
 *
 * @param path the listing file
 * @returns method info by id
 * @throws {Error} naming the file and what is wrong with it
 */
export async function readCatalog(path: string): Promise<Map<string, MethodInfo>> {
  let json: unknown;
  try {
    json = JSON.parse(await Deno.readTextFile(path));
  } catch (error) {
    throw new Error(`Cannot read the method catalog ${path}: ${(error as Error).message}`);
  }
  const parsed = Listing.safeParse(json);
  if (!parsed.success) {
    throw new Error(`${path} is not a method listing:\n${z.prettifyError(parsed.error)}`);
  }
  return new Map(parsed.data.methods.map(({ id, ...info }) => [id, info]));
}

/**
 * The fidelity labels of a catalog by method id: what the leaderboard shows for cells of run files
 * written before methods declared one.
 */
export function labelsOf(info: ReadonlyMap<string, MethodInfo> | undefined): Map<string, Fidelity> {
  const labels = new Map<string, Fidelity>();
  for (const [id, m] of info ?? []) if (m.fidelity) labels.set(id, m.fidelity);
  return labels;
}

/** The committed catalog (`deno task catalog`), used by default when it exists. */
export const DEFAULT_CATALOG = "results/catalog.json";

/** Reads `path`, or the default catalog when `path` is null; null when neither is there. */
export async function readCatalogOrDefault(
  path: string | null,
): Promise<Map<string, MethodInfo> | undefined> {
  if (path) return await readCatalog(path);
  try {
    await Deno.stat(DEFAULT_CATALOG);
  } catch {
    return undefined;
  }
  return await readCatalog(DEFAULT_CATALOG);
}
