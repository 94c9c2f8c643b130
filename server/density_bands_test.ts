import { parseRunFile } from "../bench/results/run_file.ts";
import { assert, assertEquals, assertStringIncludes } from "../tests/assert.ts";
import { aggregate } from "./aggregate.ts";
import { densityBand, shapeOf } from "./density_bands.ts";
import { makeRun } from "./testdata/fixture.ts";
import { SERVER_LINKS as links } from "./views/links.ts";
import { overviewPage } from "./views/overview_page.ts";
import { taskPage } from "./views/task_page.ts";

const TASK = "synthetic-attention";

Deno.test("densityBand() puts each matched target, ±10%, in a band of its own", () => {
  for (const target of [0.05, 0.1, 0.2]) {
    const bands = [0.9, 1, 1.1].map((f) => densityBand(target * f));
    assertEquals(new Set(bands).size, 1, `${target}: ${bands}`);
  }
  assertEquals(new Set([0.05, 0.1, 0.2].map(densityBand)).size, 3);
  assertEquals([densityBand(1), densityBand(null), densityBand(0.001)], [
    "dense",
    null,
    "< 0.0088",
  ]);
  assertEquals(shapeOf({ seq: 8, targetDensity: 0.1 }), { seq: 8 });
});

Deno.test("attention rows are banded: frontier and best compare only rows of one band", () => {
  const data = aggregate([makeRun()]);
  const task = data.tasks.get(TASK)!;
  const board = data.boards.get(TASK)!.get(task.defaultDeviceId!)!.verified;
  assert(board.rows.every((r) => r.densityBand !== null), "every attention row has a band");
  // The fixture spreads its methods over several bands: best is given in each.
  assert(task.bestByBand.length > 1, `bands: ${task.bestByBand.map((b) => b.band)}`);
  for (const b of task.bestByBand) {
    assertEquals(b.bestQuality === null || b.bestQuality.densityBand === b.band, true);
    assertEquals(b.fastest === null || b.fastest.densityBand === b.band, true);
  }
  // A frontier row is beaten by no ok row of its own band and shape, whatever other bands hold.
  for (const i of board.frontier) {
    const r = board.rows[i];
    const sign = r.higherIsBetter ? 1 : -1;
    const beaten = board.rows.some((o) =>
      o !== r && o.status === "ok" && o.densityBand === r.densityBand &&
      o.shapeKey === r.shapeKey && o.deviceId === r.deviceId && o.speedup! >= r.speedup! &&
      sign * (o.metric! - r.metric!) > 0
    );
    assert(!beaten, `${r.methodId} on the frontier of band ${r.densityBand}`);
  }
  // Other families are not banded.
  const pruning = [...data.tasks.values()].find((t) => t.family === "pruning")!;
  assertEquals(pruning.bestByBand, []);
});

Deno.test("the task page draws quality against realized density; the overview lists bands", () => {
  const run = makeRun();
  // One cell tuned to a target: the table says so.
  const cell = run.cells.find((c) => c.task.id === TASK && !c.isReference)!;
  cell.tuning = {
    param: "density",
    value: 0.123,
    targetDensity: 0.1,
    tolerance: 0.1,
    achievedDensity: 0.1,
    rows: 64,
    evaluations: 5,
    ms: 3,
  };
  const data = aggregate([parseRunFile(run, "tuned.json")]);
  const task = data.tasks.get(TASK)!;
  const board = data.boards.get(TASK)!.get(task.defaultDeviceId!)!.verified;
  const page = taskPage(data, {
    task,
    board,
    q: {
      device: task.defaultDeviceId!,
      densityMin: null,
      densityMax: null,
      unverified: false,
      sort: null,
      dir: "desc",
    },
    links,
  });
  assertStringIncludes(page, 'id="density-chart-data"');
  assertStringIncludes(page, '"kind":"curves"');
  assertStringIncludes(page, "tuned to 0.1: density=0.123");
  const overview = overviewPage(data, links);
  for (const b of task.bestByBand) assertStringIncludes(overview, `density ${b.band}`);
});
