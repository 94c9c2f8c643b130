// POST /api/runs: a run file from someone else's device, accepted only with the shared token,
// validated, stored atomically under its run id and always marked unverified.
import { join } from "node:path";
import { z } from "zod";
import { RunFile } from "../bench/results/schema.ts";
import { RequestError } from "./query.ts";

/** The largest submission accepted, in bytes. */
export const MAX_SUBMISSION_BYTES = 5 * 1024 * 1024;

/** Constant-time comparison, so response timing says nothing about how much of a token matched. */
export function sameToken(given: string, expected: string): boolean {
  const a = new TextEncoder().encode(given);
  const b = new TextEncoder().encode(expected);
  let diff = a.length ^ b.length;
  for (let i = 0; i < b.length; i++) diff |= (a[i % Math.max(a.length, 1)] ?? 0) ^ b[i];
  return diff === 0;
}

/**
 * Reads a request body, refusing it as soon as it passes `limit` bytes.
 *
 * @throws {RequestError} 413 when the body (or its declared length) is over the limit
 */
export async function readLimited(request: Request, limit: number): Promise<Uint8Array> {
  const declared = request.headers.get("content-length");
  if (declared !== null && Number(declared) > limit) {
    throw new RequestError(
      413,
      `Run files are limited to ${limit} bytes: this one declares ${declared}`,
    );
  }
  if (!request.body) return new Uint8Array();
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = request.body.getReader();
  while (true) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      throw new RequestError(413, `Run files are limited to ${limit} bytes`);
    }
    chunks.push(value);
  }
  const body = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    body.set(c, at);
    at += c.byteLength;
  }
  return body;
}

/**
 * Validates a submitted run file and stores it as `<runId>.json` in `dir`, never replacing an
 * existing file: it is written to a temporary name, then hard-linked into place, which fails
 * when the name is taken.
 *
 * @param dir the results folder
 * @param body the request body
 * @returns the stored run's id
 * @throws {RequestError} 400 for bad JSON or an invalid run file, 409 when the run id exists
 */
export async function storeSubmission(dir: string, body: Uint8Array): Promise<string> {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(body));
  } catch (error) {
    throw new RequestError(400, `The body is not JSON: ${(error as Error).message}`);
  }
  const checked = RunFile.safeParse(json);
  if (!checked.success) {
    throw new RequestError(
      400,
      `The body is not a valid run file:\n${z.prettifyError(checked.error)}`,
    );
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
      throw new RequestError(
        409,
        `A run with id '${run.runId}' already exists: pick another run id`,
      );
    }
    // A filesystem without hard links: check, then rename (atomic, but racy against a twin).
    if (await Deno.lstat(target).then(() => true, () => false)) {
      throw new RequestError(
        409,
        `A run with id '${run.runId}' already exists: pick another run id`,
      );
    }
    await Deno.rename(tmp, target);
  } finally {
    await Deno.remove(tmp).catch(() => {});
  }
  return run.runId;
}
