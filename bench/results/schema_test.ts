import {
  assertEquals,
  assertRejects,
  assertStringIncludes,
  assertThrows,
} from "../../tests/assert.ts";
import { emptyRun, latencyFixture, okCellFixture } from "../../tests/fixtures/run_fixture.ts";
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

Deno.test("a schema-1 run file is read and upgraded in memory, its cells regrouped as they were", async () => {
  const path = "results/runs/20261130T132235Z-f1e2b5.json";
  const raw = JSON.parse(await Deno.readTextFile(path));
  assertEquals(raw.schemaVersion, 1);
  const run = await readRunFile(path);
  assertEquals(run.upgradedFrom, 1);
  assertEquals(run.cells.length, raw.cells.length);
  assertEquals(run.environment.hostname, undefined);
  for (const cell of run.cells) {
    if (cell.status !== "ok") continue;
    // Schema 1 kept no samples: no interval is invented.
    assertEquals(cell.latency.wall.p50Ci95, null);
    assertEquals(cell.latency.wall.samples, []);
    if (cell.speedup) assertEquals(cell.speedup.ci95, null);
  }
});

Deno.test("an ok cell must carry latency, check and sparsity; other statuses carry a reason", () => {
  const cell = okCellFixture({ latency: latencyFixture([1, 1, 1]) });
  const withCell = (c: unknown) => RunFile.safeParse({ ...emptyRun(), cells: [c] }).success;
  assertEquals(withCell(cell), true);
  assertEquals(withCell({ ...cell, latency: null }), false);
  assertEquals(withCell({ ...cell, sparsity: null }), false);
  assertEquals(withCell({ ...cell, check: { ...cell.check, passed: false } }), false);
  const failed = { ...cell, status: "failed", latency: null, speedup: null, error: "boom" };
  assertEquals(withCell(failed), true);
  assertEquals(withCell({ ...failed, error: null }), false);
  assertEquals(withCell({ ...failed, latency: cell.latency }), false);
});

Deno.test("a cell's method may carry its fidelity label; files written before labels still load", async () => {
  const cell = okCellFixture({ latency: latencyFixture([1, 1, 1]) });
  const withCell = (c: unknown) => RunFile.safeParse({ ...emptyRun(), cells: [c] }).success;
  assertEquals(cell.method.fidelity, undefined);
  assertEquals(withCell(cell), true);
  const labelled = {
    ...cell,
    method: { ...cell.method, fidelity: { level: "oracle", reason: "r" } },
  };
  assertEquals(withCell(labelled), true);
  assertEquals(
    withCell({ ...cell, method: { ...cell.method, fidelity: { level: "close", reason: "r" } } }),
    false,
  );
  // Every run file in results/runs reads, those written before labels (no cell labelled) too.
  let unlabelled = 0;
  for (const entry of Deno.readDirSync("results/runs")) {
    if (!entry.name.endsWith(".json")) continue;
    const run = await readRunFile(`results/runs/${entry.name}`);
    if (run.cells.length > 0 && run.cells.every((c) => c.method.fidelity === undefined)) {
      unlabelled++;
    }
  }
  assertEquals(unlabelled > 0, true, "some committed run files predate labels");
});
