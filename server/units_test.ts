import { assert, assertEquals } from "../tests/assert.ts";
import { parseRunFile } from "../bench/results/run_file.ts";
import { toCsv } from "./columns.ts";
import { DEVICE_ID_PATTERN, deviceOf } from "./devices.ts";
import { escapeHtml, h, jsonForScript } from "./html.ts";
import { paretoFrontier } from "./pareto.ts";
import { aggregate } from "./aggregate.ts";
import { fixtureRuns, makeRun } from "./testdata/fixture.ts";
import { href } from "./views/links.ts";

Deno.test("the fixtures are valid run files", async () => {
  for (const run of fixtureRuns()) parseRunFile(run, run.runId);
  for await (const e of Deno.readDir(new URL("./testdata/runs", import.meta.url))) {
    if (e.name === "broken.json" || e.name === "invalid.json") continue;
    const text = await Deno.readTextFile(new URL(`./testdata/runs/${e.name}`, import.meta.url));
    parseRunFile(JSON.parse(text), e.name);
  }
});

Deno.test("paretoFrontier() keeps the points nothing beats on both axes", () => {
  const points = [
    { speedup: 1, quality: 1.0 },
    { speedup: 2, quality: 0.9 },
    { speedup: 2, quality: 0.8 }, // beaten by the point above
    { speedup: 1.5, quality: 0.85 }, // beaten by (2, 0.9)
    { speedup: 4, quality: 0.5 },
    { speedup: NaN, quality: 2 },
  ];
  assertEquals(paretoFrontier(points, true), [0, 1, 4]);
  assertEquals(paretoFrontier(points, false), [4]); // fastest and lowest at once
  assertEquals(paretoFrontier([], true), []);
});

Deno.test("h`` escapes interpolations but not nested markup", () => {
  assertEquals(
    escapeHtml(`<a href="x">'&'</a>`),
    "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;",
  );
  assertEquals(
    h`<b>${"<i>"}</b>${h`<i>${1}</i>`}${null}${["<", h`<br>`]}`.value,
    "<b>&lt;i&gt;</b><i>1</i>&lt;<br>",
  );
  assertEquals(
    jsonForScript({ a: "</script><!--" }).value,
    '{"a":"\\u003c/script\\u003e\\u003c!--"}',
  );
});

Deno.test("deviceOf() gives URL-safe, stable ids per vendor, architecture and description", () => {
  const a = deviceOf(makeRun({ gpuDescription: "llvmpipe (LLVM 15.0.6, 256 bits)" }));
  const b = deviceOf(makeRun({ gpuDescription: "<script>" }));
  const none = deviceOf(makeRun({ gpuDescription: null }));
  assert(DEVICE_ID_PATTERN.test(a.id) && DEVICE_ID_PATTERN.test(b.id));
  assertEquals(a.id, deviceOf(makeRun({ seed: 9 })).id);
  assert(a.id !== b.id);
  assertEquals(none.id, "no-gpu");
});

Deno.test("toCsv() quotes fields and defuses spreadsheet formulas", () => {
  const run = makeRun();
  run.cells[0].method.id = "=HYPERLINK(1)";
  run.cells[0].method.params = { note: 'a,"b"' };
  const rows = aggregate([run]).methodRows.get("=HYPERLINK(1)")!;
  const csv = toCsv(rows);
  assert(csv.includes("'=HYPERLINK(1)"));
  assert(csv.includes('"note=a,""b"""'));
});

Deno.test("href() writes static links as folders and API paths as .json files", () => {
  const s = { base: "/sb", static: true };
  assertEquals(href(s, "/tasks/x"), "/sb/tasks/x/");
  assertEquals(href(s, "/"), "/sb/");
  assertEquals(href(s, "/api/tasks/x/leaderboard"), "/sb/api/tasks/x/leaderboard.json");
  assertEquals(href(s, "/static/app.js"), "/sb/static/app.js");
  assertEquals(href(s, "/tasks/x/leaderboard.csv"), "/sb/tasks/x/leaderboard.csv");
  assertEquals(href({ base: "", static: false }, "/tasks/x?device=all"), "/tasks/x?device=all");
});
