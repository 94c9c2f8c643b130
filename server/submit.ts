// POST /api/runs after authentication and the size cap: a run file from someone else's device,
// validated, stored atomically under its run id and always marked unverified.
import { join } from "node:path";
import { z } from "zod";
import { RunFile } from "../bench/results/schema.ts";
import { HTTPException } from "hono/http-exception";

/** The largest submission accepted, in bytes. */
export const MAX_SUBMISSION_BYTES = 5 * 1024 * 1024;

/**
 * Validates a submitted run file and stores it as `<runId>.json` in `dir`, never replacing an
 * existing file: it is written to a temporary name, then hard-linked into place, which fails
 * when the name is taken.
 *
 * @param dir the results folder
 * @param body the request body
 * @returns the stored run's id
 * @throws {HTTPException} 400 for bad JSON or an invalid run file, 409 when the run id exists
 */
export async function storeSubmission(dir: string, body: Uint8Array): Promise<string> {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(body));
  } catch (error) {
    throw new HTTPException(400, { message: `The body is not JSON: ${(error as Error).message}` });
  }
  const checked = RunFile.safeParse(json);
  if (!checked.success) {
    throw new HTTPException(400, {
      message: `The body is not a valid run file:\n${z.prettifyError(checked.error)}`,
    });
  }
  // Whatever the file claims, nobody has verified a submission yet.
  const run = { ...checked.data, verified: false };
  const target = join(dir, `${run.runId}.json`);
  const tmp = join(dir, `.${run.runId}.${crypto.randomUUID().slice(0, 8)}.tmp`);
  await Deno.writeTextFile(tmp, JSON.stringify(run, null, 2) + "\n", { createNew: true });
  try {
    await Deno.link(tmp, target);
  } catch (error) {
    if (error instanceof Deno.errors.AlreadyExists) {
      throw new HTTPException(409, {
        message: `A run with id '${run.runId}' already exists: pick another run id`,
      });
    }
    // A filesystem without hard links: check, then rename (atomic, but racy against a twin).
    if (await Deno.lstat(target).then(() => true, () => false)) {
      throw new HTTPException(409, {
        message: `A run with id '${run.runId}' already exists: pick another run id`,
      });
    }
    await Deno.rename(tmp, target);
  } finally {
    await Deno.remove(tmp).catch(() => {});
  }
  return run.runId;
}
