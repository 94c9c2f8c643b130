import { assert, assertEquals } from "../tests/assert.ts";
import { compareForRegressions, medianRatioInterval, regressionMarkdown } from "./regression.ts";
import { makeRun } from "./testdata/fixture.ts";

Deno.test("medianRatioInterval() brackets the true ratio of two independent sample sets", () => {
  const a = Array.from({ length: 40 }, (_, i) => 10 + (i % 7) * 0.1);
  const b = a.map((x) => 1.3 * x);
  const r = medianRatioInterval(a, b);
  assert(Math.abs(r.ratio - 1.3) < 1e-12);
  assert(r.ci95[0] <= 1.3 && 1.3 <= r.ci95[1], `${r.ci95}`);
  assert(r.ci95[0] > 1.2, "a 30% step on tight samples is told apart from 1");
});

Deno.test("the same run twice: no finding; a 30% slower run: latency regressions, exit-worthy", () => {
  const a = makeRun({ runId: "a" });
  const same = compareForRegressions(a, makeRun({ runId: "b" }));
  assertEquals(same.changes, []);
  assertEquals(same.failing, false);
  assert(same.latencyCompared > 0);
  const slow = compareForRegressions(a, makeRun({ runId: "b", slowdown: 1.3 }), 0.1);
  const regressions = slow.changes.filter((c) => c.kind === "latency-regression");
  assertEquals(regressions.length, slow.latencyCompared);
  assert(slow.failing);
  // Below the threshold a 5% slowdown is not reported.
  const slight = compareForRegressions(a, makeRun({ runId: "b", slowdown: 1.05 }), 0.1);
  assertEquals(slight.changes.filter((c) => c.kind === "latency-regression"), []);
  assert(regressionMarkdown(slow).includes("| latency-regression |"));
});

Deno.test("quality is compared exactly, and latency only on one device", () => {
  const a = makeRun({ runId: "a" });
  const b = makeRun({ runId: "b", slowdown: 1.3, cpuModel: "Other host" });
  const cell = b.cells.find((c) => c.status === "ok")!;
  cell.metrics[cell.mainMetric.name] += 1e-9;
  const r = compareForRegressions(a, b);
  assertEquals(r.latencyCompared, 0, "another host is another device: no latency verdict");
  const quality = r.changes.filter((c) => c.kind === "quality");
  assertEquals(quality.map((c) => c.key), [cell.key]);
  assert(r.failing);
});

Deno.test("speed-ups are compared across devices: disjoint intervals beyond the threshold", () => {
  const a = makeRun({ runId: "a" });
  const b = makeRun({ runId: "b", cpuModel: "Other host" });
  const cell = b.cells.find((c) => c.status === "ok" && c.speedup && c.speedup.value > 1.5)!;
  if (cell.status !== "ok" || !cell.speedup) throw new Error("fixture has no sped-up cell");
  cell.speedup = {
    ...cell.speedup,
    value: cell.speedup.value / 2,
    ci95: [0.1, cell.speedup.value / 1.9],
  };
  const r = compareForRegressions(a, b);
  const found = r.changes.filter((c) => c.kind === "speedup-regression");
  assertEquals(found.map((c) => c.key), [cell.key]);
  assert(r.failing);
});
