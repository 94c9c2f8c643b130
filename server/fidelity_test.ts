// Fidelity labels on the leaderboard: "best" leaves out stand-ins and oracles unless asked, older
// run files without labels still load (and take the catalog's label, marked as such).
import type { Fidelity } from "../bench/metadata.ts";
import { parseRunFile } from "../bench/results/run_file.ts";
import type { RunFile } from "../bench/results/schema.ts";
import { assert, assertEquals, assertStringIncludes } from "../tests/assert.ts";
import { aggregate } from "./aggregate.ts";
import { fixtureApp } from "./testdata/test_app.ts";
import { makeRun } from "./testdata/fixture.ts";

const TASK = "synthetic-attention";

/** A fixture run whose cells of `methodId` carry `fidelity`, the others labelled faithful. */
function labelledRun(methodId: string, fidelity: Fidelity): RunFile {
  const run = makeRun();
  for (const cell of run.cells) {
    cell.method.fidelity = cell.method.id === methodId
      ? fidelity
      : { level: "faithful", reason: "a fixture method" };
  }
  return parseRunFile(run, "labelled.json");
}

Deno.test("best sparse leaves out stand-ins and oracles; the any-label figures keep them", () => {
  const unlabelled = aggregate([makeRun()]).tasks.get(TASK)!;
  const best = unlabelled.bestQuality!;
  const fastest = unlabelled.fastest!;
  // On the fixture one method leads both; labelling it moves both "best" figures elsewhere.
  assertEquals(best.methodId, fastest.methodId);
  for (const level of ["stand-in", "oracle"] as const) {
    const task = aggregate([labelledRun(best.methodId, { level, reason: "r" })]).tasks.get(TASK)!;
    assertEquals(task.bestExcludes, ["stand-in", "oracle"]);
    assert(task.bestQuality !== null && task.fastest !== null);
    assert(task.bestQuality.methodId !== best.methodId, `${level} left out of best quality`);
    assert(task.fastest.methodId !== best.methodId, `${level} left out of fastest`);
    assertEquals(task.bestQuality.fidelity?.level, "faithful");
    assertEquals(task.fastest.fidelity?.level, "faithful");
    // Including every label gives back what an unlabelled board picks.
    assertEquals(task.bestQualityAnyLabel!.cellKey, best.cellKey);
    assertEquals(task.fastestAnyLabel!.cellKey, fastest.cellKey);
  }
  // A simplified method stays a candidate.
  const simplified = aggregate([labelledRun(best.methodId, { level: "simplified", reason: "r" })]);
  assertEquals(simplified.tasks.get(TASK)!.bestQuality!.cellKey, best.cellKey);
});

Deno.test("old run files without labels load; rows take the catalog's label, marked as such", () => {
  const run = makeRun();
  assert(run.cells.every((c) => c.method.fidelity === undefined));
  const parsed = parseRunFile(JSON.parse(JSON.stringify(run)), "old.json");
  const plain = aggregate([parsed]);
  const row = plain.boards.get(TASK)!.get("all")!.all.rows.find((r) =>
    r.methodId === "block-sparse"
  )!;
  assertEquals([row.fidelity, row.fidelityFrom], [null, null]);

  const label: Fidelity = { level: "oracle", reason: "from the catalog" };
  const withCatalog = aggregate([parsed], { labels: new Map([["block-sparse", label]]) });
  const labelled = withCatalog.boards.get(TASK)!.get("all")!.all.rows.find((r) =>
    r.methodId === "block-sparse"
  )!;
  assertEquals([labelled.fidelity, labelled.fidelityFrom], [label, "catalog"]);
  assertEquals(withCatalog.methods.get("block-sparse")!.fidelity, label);
  // The catalog's oracle label keeps it out of "best" as a run file's would.
  assert(withCatalog.tasks.get(TASK)!.bestQuality?.methodId !== "block-sparse");

  // A label in the run file wins over the catalog's.
  const own = labelledRun("block-sparse", { level: "simplified", reason: "own" });
  const mixed = aggregate([own], { labels: new Map([["block-sparse", label]]) });
  const ownRow = mixed.boards.get(TASK)!.get("all")!.all.rows.find((r) =>
    r.methodId === "block-sparse"
  )!;
  assertEquals([ownRow.fidelity?.level, ownRow.fidelityFrom], ["simplified", "run"]);
});

Deno.test("the overview says what best leaves out and ?best=any includes it", async () => {
  await using f = await fixtureApp();
  const page = await (await f.app.request("/")).text();
  assertStringIncludes(page, "leaving out methods labelled stand-in or oracle");
  assertStringIncludes(page, 'href="/?best=any"');
  const any = await (await f.app.request("/?best=any")).text();
  assertStringIncludes(any, "<strong>including</strong> methods labelled stand-in or oracle");
  assertEquals((await f.app.request("/best-any-label")).status, 200);
  const bad = await f.app.request("/?best=everything");
  assertEquals(bad.status, 400);
  assertStringIncludes(await bad.text(), "&#39;best&#39; must be &#39;any&#39;");
  const other = await f.app.request("/?sort=x");
  assertEquals(other.status, 400);
  await other.body?.cancel();
});

Deno.test("labels show on the leaderboard, its CSV and JSON, the method page and /api/tasks", async () => {
  await using f = await fixtureApp();
  const board = await (await f.app.request(`/tasks/${TASK}`)).text();
  assertStringIncludes(board, ">Label</a></th>");
  assertStringIncludes(board, "unlabelled"); // the fixtures predate labels and no catalog is given
  const csv = (await (await f.app.request(`/tasks/${TASK}/leaderboard.csv`)).text()).split("\r\n");
  assertStringIncludes(csv[0], "task,method,label,params");
  assertStringIncludes(csv[0], "label_reason,label_from");
  const json = await (await f.app.request(`/api/tasks/${TASK}/leaderboard`)).json();
  assert(json.rows.every((r: { fidelity: unknown }) => r.fidelity === null));
  const tasks = await (await f.app.request("/api/tasks")).json();
  const summary = tasks.find((t: { id: string }) => t.id === TASK);
  assertEquals(summary.bestExcludes, ["stand-in", "oracle"]);
  assert("bestQualityAnyLabel" in summary && "fastestAnyLabel" in summary);
  const run = await (await f.app.request("/runs/2025-01-02-quick")).text();
  // Both the failures table and the cells table label every method (none here: old fixtures).
  assert(
    run.split("unlabelled").length - 1 > run.split("<tr>").length / 2,
    "labels on the run page",
  );
  const method = await (await f.app.request("/methods/sliding-window")).text();
  assertStringIncludes(method, "Label: <strong>unlabelled</strong>");
});
