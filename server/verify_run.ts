// `deno task verify-run RUN_ID… [--results DIR]`: a maintainer marks submitted runs verified
// (after reproducing them, or checking the device is what it says). The file is validated,
// rewritten with `verified: true` through a temporary file and an atomic rename, and nothing
// else in it changes.
import { join } from "node:path";
import { parseArgs } from "node:util";
import { z } from "zod";
import { RunFile, RunId } from "../bench/results/schema.ts";

/** A run that cannot be marked: missing, invalid, or already verified. */
export class VerifyError extends Error {
  override name = "VerifyError";
}

/**
 * Marks one stored run verified.
 *
 * @param dir the results folder
 * @param runId the run's id (its file is `<runId>.json`)
 * @returns false when it was verified already
 * @throws {VerifyError} for a malformed id, a missing file, or a file that does not validate
 */
export async function verifyRun(dir: string, runId: string): Promise<boolean> {
  if (!RunId.safeParse(runId).success) {
    throw new VerifyError(`'${runId.slice(0, 80)}' is not a run id (letters, digits, . _ -)`);
  }
  const path = join(dir, `${runId}.json`);
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) throw new VerifyError(`No run file ${path}`);
    throw error;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new VerifyError(`${path} is not JSON: ${(error as Error).message}`);
  }
  const checked = RunFile.safeParse(json);
  if (!checked.success) {
    throw new VerifyError(`${path} is not a valid run file:\n${z.prettifyError(checked.error)}`);
  }
  const raw = json as Record<string, unknown>;
  if (raw.verified === true) return false;
  // The file as it was (unknown keys kept), with only the flag changed.
  const tmp = join(dir, `.${runId}.${crypto.randomUUID().slice(0, 8)}.tmp`);
  await Deno.writeTextFile(tmp, JSON.stringify({ ...raw, verified: true }, null, 2) + "\n");
  await Deno.rename(tmp, path);
  return true;
}

if (import.meta.main) {
  const usage = "usage: deno task verify-run RUN_ID… [--results DIR]";
  let parsed;
  try {
    parsed = parseArgs({
      args: Deno.args,
      options: { results: { type: "string" } },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    console.error(`${(error as Error).message}\n${usage}`);
    Deno.exit(2);
  }
  if (parsed.positionals.length === 0) {
    console.error(usage);
    Deno.exit(2);
  }
  const dir = parsed.values.results ?? Deno.env.get("RESULTS_DIR") ?? "results/runs";
  let failed = false;
  for (const id of parsed.positionals) {
    try {
      const changed = await verifyRun(dir, id);
      console.error(changed ? `${id}: marked verified` : `${id}: already verified`);
    } catch (error) {
      if (!(error instanceof VerifyError)) throw error;
      console.error(`${id}: ${error.message}`);
      failed = true;
    }
  }
  Deno.exit(failed ? 1 : 0);
}
