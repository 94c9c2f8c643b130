import { assert, assertEquals, assertStringIncludes } from "../tests/assert.ts";
import { ResultsStore } from "./store.ts";
import { fixtureRuns, makeRun, writeFixtures } from "./testdata/fixture.ts";

async function tempFixtures() {
  const dir = await Deno.makeTempDir({ prefix: "sparsebench-store-" });
  await writeFixtures(dir);
  return { dir, [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }) };
}

Deno.test("ResultsStore loads valid runs and names every skipped file with its reason", async () => {
  await using t = await tempFixtures();
  const logs: string[] = [];
  const store = new ResultsStore(t.dir, { checkIntervalMs: 0, log: (m) => logs.push(m) });
  const snap = await store.refresh();
  assertEquals(snap.files.length, fixtureRuns().length);
  assertEquals(snap.skipped.map((s) => s.file), ["broken.json", "invalid.json"]);
  assertEquals(logs.length, 2);
  assertStringIncludes(logs[0], "broken.json");
});

Deno.test("ResultsStore rebuilds only when the folder changes", async () => {
  await using t = await tempFixtures();
  const store = new ResultsStore(t.dir, { checkIntervalMs: 0, log: () => {} });
  const first = await store.refresh();
  const again = await store.current();
  assertEquals(again.version, first.version);
  assert(again.data === first.data, "aggregates rebuilt without a change");
  await Deno.writeTextFile(`${t.dir}/extra.json`, JSON.stringify(makeRun({ runId: "extra" })));
  const changed = await store.current();
  assertEquals(changed.version, first.version + 1);
  assert(changed.data.runs.has("extra"));
  await Deno.writeTextFile(`${t.dir}/twin.json`, JSON.stringify(makeRun({ runId: "extra" })));
  const twin = await store.current();
  assertStringIncludes(
    twin.skipped.find((s) => s.file === "twin.json")!.reason,
    "duplicate run id",
  );
});

Deno.test("ResultsStore throttles checks and shares one check between concurrent callers", async () => {
  await using t = await tempFixtures();
  const store = new ResultsStore(t.dir, { checkIntervalMs: 60_000, log: () => {} });
  const [a, b] = await Promise.all([store.current(), store.current()]);
  assert(a === b);
  await Deno.writeTextFile(`${t.dir}/late.json`, JSON.stringify(makeRun({ runId: "late" })));
  assertEquals((await store.current()).version, a.version, "checked inside the interval");
  assert((await store.refresh()).data.runs.has("late"));
});

Deno.test("ResultsStore reports a missing folder instead of throwing", async () => {
  const store = new ResultsStore("/nonexistent/sparsebench/runs", {
    checkIntervalMs: 0,
    log: () => {},
  });
  const snap = await store.refresh();
  assertStringIncludes(snap.folderError!, "Cannot read the results folder");
  assertEquals(snap.data.runs.size, 0);
});
