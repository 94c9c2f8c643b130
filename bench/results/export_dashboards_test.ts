import { assert, assertEquals } from "../../tests/assert.ts";
import { makeRun } from "../../server/testdata/fixture.ts";
import { bencherMetricFormat, githubActionBenchmark } from "./export_dashboards.ts";

Deno.test("dashboard exports carry every ok cell's p50 and interval, and no failed cell", () => {
  const run = makeRun({ failure: "check failed" });
  const ok = run.cells.filter((c) => c.status === "ok");
  const gab = githubActionBenchmark(run);
  assertEquals(gab.length, ok.length);
  assert(gab.length < run.cells.length, "the failed cell is left out");
  const first = ok[0];
  if (first.status !== "ok") throw new Error("unreachable");
  const s = first.latency.kernel ?? first.latency.wall;
  assertEquals(gab[0].name, first.key);
  assertEquals(gab[0].value, s.p50);
  assertEquals(gab[0].unit, "ms");
  const bmf = bencherMetricFormat(run)[first.key].latency;
  assertEquals(bmf.value, s.p50 * 1e6);
  assert(bmf.lower_value <= bmf.value && bmf.value <= bmf.upper_value);
});
