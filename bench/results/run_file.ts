// Reading and writing run files: validated on both sides, written atomically.
import { z } from "zod";
import { RunFile, type RunFile as RunFileType } from "./schema.ts";
import { isSchemaV1, RunFileV1, upgradeRunFileV1 } from "./schema_v1.ts";

/** Thrown when a run file cannot be read or does not satisfy the schema. */
export class RunFileError extends Error {
  override name = "RunFileError";
}

/**
 * Validates `run` and writes it to `path` through a temporary file and a rename, so a reader
 * (or a crash) never sees a half-written file.
 *
 * @throws {RunFileError} when `run` does not satisfy the schema; nothing is written then
 */
export async function writeRunFile(path: string, run: RunFileType): Promise<void> {
  const checked = RunFile.safeParse(run);
  if (!checked.success) {
    throw new RunFileError(
      `Refusing to write an invalid run file ${path}:\n${z.prettifyError(checked.error)}`,
    );
  }
  const tmp = `${path}.${crypto.randomUUID().slice(0, 8)}.tmp`;
  await Deno.writeTextFile(tmp, JSON.stringify(checked.data, null, 2) + "\n");
  await Deno.rename(tmp, path);
}

/**
 * Validates already-parsed JSON as a run file; a schema-1 file is validated against schema 1 and
 * upgraded in memory (the file itself is never rewritten).
 *
 * @throws {RunFileError} with a readable reason
 */
export function parseRunFile(json: unknown, name: string): RunFileType {
  if (isSchemaV1(json)) {
    const old = RunFileV1.safeParse(json);
    if (!old.success) {
      throw new RunFileError(
        `${name} is not a valid run file (schema 1):\n${z.prettifyError(old.error)}`,
      );
    }
    return upgradeRunFileV1(old.data);
  }
  const result = RunFile.safeParse(json);
  if (!result.success) {
    throw new RunFileError(`${name} is not a valid run file:\n${z.prettifyError(result.error)}`);
  }
  return result.data;
}

/**
 * Reads and validates a run file (schema-1 files are upgraded in memory).
 *
 * @param path the file
 * @returns the run
 * @throws {RunFileError} naming the file and the reason
 * @example
 * ```ts
 * import { readRunFile, writeRunFile } from "./run_file.ts";
 * import { emptyRun } from "../../tests/fixtures/run_fixture.ts";
 * import { assertEquals, assertRejects } from "../../tests/assert.ts";
 * const dir = await Deno.makeTempDir();
 * await writeRunFile(`${dir}/run.json`, emptyRun("example"));
 * assertEquals((await readRunFile(`${dir}/run.json`)).runId, "example");
 * await assertRejects(() => readRunFile(`${dir}/missing.json`), Error, "No run file");
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function readRunFile(path: string): Promise<RunFileType> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) throw new RunFileError(`No run file at ${path}`);
    throw new RunFileError(`Cannot read ${path}: ${(error as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new RunFileError(`${path} is not JSON: ${(error as Error).message}`);
  }
  return parseRunFile(json, path);
}
