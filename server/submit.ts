// POST /api/runs after authentication, the rate limit and the size cap: a run file from someone
// else's device, validated, refused when the same measurements are already stored (under any
// id), stored atomically under its run id, never over another file, and always unverified.
import { join } from "node:path";
import { z } from "zod";
import { RunFile } from "../bench/results/schema.ts";
import { sha256Hex } from "../bench/random.ts";
import { HTTPException } from "hono/http-exception";

/** Who is submitting: the token holder, or an anonymous visitor of the runner page. */
export type Submitter = "token" | "anonymous";

/** What {@link storeSubmission} checks a submission against. */
export interface SubmissionContext {
  submitter: Submitter;
  /** The runs already stored, for de-duplication. */
  existing: Iterable<RunFile>;
}

/**
 * The fingerprint of a run's measurements: its start time and every cell's key, status and raw
 * samples. Two real runs never share one, while a resent file does under any run id or
 * verified flag.
 *
 * @param run a validated run file
 * @returns a sha256 hex digest
 */
export async function measurementDigest(run: RunFile): Promise<string> {
  const cells = run.cells.map((c) => [
    c.key,
    c.status,
    c.latency?.wall.samples ?? null,
    c.latency?.kernel?.samples ?? null,
  ]);
  const text = JSON.stringify([run.startedAt, run.environment.gpu, cells]);
  return await sha256Hex(new TextEncoder().encode(text));
}

// Digests of stored runs, kept per run object so each file is hashed once per load.
const digests = new WeakMap<RunFile, Promise<string>>();

function digestOf(run: RunFile): Promise<string> {
  let d = digests.get(run);
  if (!d) {
    d = measurementDigest(run);
    digests.set(run, d);
  }
  return d;
}

/** What an anonymous submission must be: a browser run that names no adapter string. */
function checkAnonymous(run: RunFile): void {
  if (run.source !== "browser" || !run.browser) {
    throw new HTTPException(403, {
      message:
        "Anonymous submissions must be browser runs (source 'browser', from the /run page); others need the server's token",
    });
  }
  if (run.environment.gpu && run.environment.gpu.description !== "") {
    throw new HTTPException(400, {
      message: "A browser run carries no adapter description: the runner page never sends one",
    });
  }
}

/** The largest submission accepted, in bytes. */
export const MAX_SUBMISSION_BYTES = 5 * 1024 * 1024;

/**
 * Validates a submitted run file and stores it as `<runId>.json` in `dir`, never replacing an
 * existing file: it is written to a temporary name, then hard-linked into place, which fails
 * when the name is taken.
 *
 * @param dir the results folder
 * @param body the request body
 * @param context who submits, and the runs already stored
 * @returns the stored run's id
 * @throws {HTTPException} 400 for bad JSON or an invalid run file, 403 for an anonymous run
 *   that is not a browser run, 409 when the run id exists or the same measurements are stored
 */
export async function storeSubmission(
  dir: string,
  body: Uint8Array,
  context: SubmissionContext = { submitter: "token", existing: [] },
): Promise<string> {
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
  if (context.submitter === "anonymous") checkAnonymous(checked.data);
  const digest = await measurementDigest(checked.data);
  for (const stored of context.existing) {
    if (await digestOf(stored) === digest) {
      throw new HTTPException(409, {
        message: `These measurements are already stored, as run '${stored.runId}'`,
      });
    }
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
