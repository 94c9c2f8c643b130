// The crossover summary on a synthetic run: speed-ups along density per shape, batch, engine and
// kernel, the lowest density at which the kernel is slower than dense, and the command line.
import { assert, assertEquals, assertStringIncludes, assertThrows } from "../../tests/assert.ts";
import { emptyRun, latencyFixture, okCellFixture } from "../../tests/fixtures/run_fixture.ts";
import { crossoverTable, findCrossovers } from "./crossover.ts";
import { writeRunFile } from "./run_file.ts";
import type { Cell, RunFile } from "./schema.ts";
import { applySpeedups } from "./speedup.ts";

const BASE_MS = 10;

/** A cell of spmm-crossover: `speedup` over a 10 ms baseline, every round timed alike. */
function cell(
  methodId: string,
  caseParams: Record<string, string | number>,
  speedup: number,
  flopsRatio = caseParams.density as number / 100,
): Cell {
  const ms = BASE_MS / speedup;
  // Small alternating noise, so the paired bootstrap has an interval to draw.
  const latency = latencyFixture(
    Array.from({ length: 8 }, (_, i) => ms * (1 + (i % 2 ? 0.01 : -0.01))),
  );
  const c = okCellFixture({ methodId, isReference: methodId === "spmm-dense", latency });
  c.task = {
    ...c.task,
    id: "spmm-crossover",
    case: caseParams,
    caseLabel: JSON.stringify(caseParams),
  };
  c.key = `${methodId}|${c.task.caseLabel}`;
  c.sparsity = { nominalDensity: null, realizedDensity: flopsRatio, flopsRatio };
  return c;
}

/** CSR beats dense up to 20% and loses from 40%; N:M loses from the start; a dense peer. */
function syntheticRun(): RunFile {
  const run = emptyRun("crossover-test");
  const csr: Record<number, number> = { 5: 4, 10: 2.5, 20: 1.3, 40: 0.8, 60: 0.5 };
  for (const density of [5, 10, 20, 40, 60]) {
    const at = { shape: "300x784", density, batch: 1, engine: "wasm" };
    run.cells.push(cell("spmm-dense", at, 1, 1));
    run.cells.push(cell("spmm-csr", at, csr[density]));
    run.cells.push(cell("spmm-nm", at, 0.9));
    run.cells.push(cell("spmm-onnxruntime", at, 1.5, 1));
    const big = { ...at, batch: 256 };
    run.cells.push(cell("spmm-dense", big, 1, 1));
    run.cells.push(cell("spmm-csr", big, 3));
  }
  // A skipped cell: a point without a speed-up, which decides nothing.
  const skipped = {
    ...cell("spmm-nm", { shape: "300x784", density: 1, batch: 1, engine: "wasm" }, 1),
    status: "skipped",
    error: "no N:M pattern",
    latency: null,
    speedup: null,
    check: null,
    setup: null,
    sparsity: null,
  } as unknown as Cell;
  run.cells.push(skipped);
  applySpeedups(run.cells);
  return run;
}

Deno.test("findCrossovers() finds the lowest density at which sparse is slower than dense", () => {
  const rows = findCrossovers(syntheticRun());
  const byKey = new Map(rows.map((r) => [`${r.group.batch}|${r.method}`, r]));
  assertEquals(rows.length, 4);
  const csr = byKey.get("1|spmm-csr")!;
  assertEquals([csr.crossover, csr.lastFaster, csr.dense], [40, 20, false]);
  assertEquals(csr.points.map((p) => p.at), [5, 10, 20, 40, 60]);
  assert(csr.points[0].speedup!.ci95![0] > 1);
  assertEquals(csr.group, { shape: "300x784", batch: 1, engine: "wasm" });
  const nm = byKey.get("1|spmm-nm")!;
  assertEquals([nm.crossover, nm.lastFaster], [5, null]);
  assertEquals(nm.points[0], { at: 1, speedup: null, status: "skipped" });
  assertEquals(byKey.get("256|spmm-csr")!.crossover, null);
  assert(byKey.get("1|spmm-onnxruntime")!.dense);
  // Rows keep the run's order: batch 1's methods as first named, then batch 256.
  assertEquals(rows.map((r) => r.method), ["spmm-csr", "spmm-nm", "spmm-onnxruntime", "spmm-csr"]);
});

Deno.test("crossoverTable() prints speed-ups, intervals and the crossover", () => {
  const table = crossoverTable(syntheticRun());
  const lines = table.split("\n");
  assertStringIncludes(lines[1], "density=1 ");
  assertStringIncludes(lines[1], "density=60");
  const csr = lines.find((l) => l.includes("spmm-csr") && / 1 /.test(l))!;
  assertStringIncludes(csr, "×2.50 [");
  assertStringIncludes(csr, "40 (faster at 20)");
  assertStringIncludes(lines.find((l) => l.includes("spmm-nm"))!, "skipped");
  assertStringIncludes(lines.find((l) => l.includes("spmm-nm"))!, "≤ 5");
  assertStringIncludes(lines.find((l) => l.includes("onnxruntime"))!, "n/a (dense work)");
  assertStringIncludes(lines.find((l) => l.includes("256"))!, "> 60");
  assertStringIncludes(crossoverTable(syntheticRun(), { task: "other" }), "no cells of other");
});

Deno.test("findCrossovers() refuses an axis the cells do not hold as a number", () => {
  assertThrows(() => findCrossovers(syntheticRun(), { axis: "shape" }), RangeError, "numeric");
});

Deno.test("deno task crossover prints the table of a run file, and fails clearly", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await writeRunFile(`${dir}/run.json`, syntheticRun());
    const script = new URL("./crossover.ts", import.meta.url).pathname;
    const run = (...args: string[]) =>
      new Deno.Command(Deno.execPath(), { args: ["run", "-A", script, ...args] }).output();
    const ok = await run(`${dir}/run.json`);
    assertEquals(ok.code, 0);
    assertStringIncludes(new TextDecoder().decode(ok.stdout), "40 (faster at 20)");
    const missing = await run(`${dir}/missing.json`);
    assertEquals(missing.code, 2);
    assertStringIncludes(new TextDecoder().decode(missing.stderr), "No run file");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
