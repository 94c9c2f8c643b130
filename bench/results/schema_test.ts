import {
  assertEquals,
  assertRejects,
  assertStringIncludes,
  assertThrows,
} from "../../tests/assert.ts";
import { emptyRun } from "../../tests/fixtures/run_fixture.ts";
import { parseRunFile, readRunFile, RunFileError, writeRunFile } from "./run_file.ts";
import { RunFile } from "./schema.ts";
import { jsonSchemaText, SCHEMA_PATH } from "./write_json_schema.ts";
import { CATALOG_PATH, catalogText } from "./write_catalog.ts";

Deno.test("results/schema.json is what the zod schema generates (run `deno task schema` if not)", async () => {
  assertEquals(await Deno.readTextFile(SCHEMA_PATH), jsonSchemaText());
});

Deno.test("a run file survives a write and read round trip", async () => {
  const dir = await Deno.makeTempDir();
  const run = emptyRun("round-trip");
  await writeRunFile(`${dir}/r.json`, run);
  assertEquals(await readRunFile(`${dir}/r.json`), run);
  // Only the file itself: no temporary file is left behind.
  assertEquals([...Deno.readDirSync(dir)].map((e) => e.name), ["r.json"]);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("writeRunFile() refuses an invalid run and leaves the old file intact", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/r.json`;
  await writeRunFile(path, emptyRun("old"));
  const bad = { ...emptyRun("new"), seed: 1.5 };
  await assertRejects(() => writeRunFile(path, bad), RunFileError, "seed");
  assertEquals((await readRunFile(path)).runId, "old");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("readers ignore unknown keys but refuse a wrong schema version", () => {
  const withExtra = { ...emptyRun(), futureField: 1 };
  assertEquals(RunFile.safeParse(withExtra).success, true);
  const error = assertThrows(
    () => parseRunFile({ ...emptyRun(), schemaVersion: 99 }, "x.json"),
    RunFileError,
  );
  assertStringIncludes(error.message, "x.json is not a valid run file");
});

Deno.test("readRunFile() names a missing or broken file", async () => {
  const dir = await Deno.makeTempDir();
  await assertRejects(() => readRunFile(`${dir}/none.json`), RunFileError, "No run file");
  await Deno.writeTextFile(`${dir}/broken.json`, "{");
  await assertRejects(() => readRunFile(`${dir}/broken.json`), RunFileError, "is not JSON");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("results/catalog.json lists the registered methods and tasks (run `deno task catalog` if not)", async () => {
  assertEquals(await Deno.readTextFile(CATALOG_PATH), catalogText());
});
