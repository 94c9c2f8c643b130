import { assert, assertEquals, assertStringIncludes } from "../../tests/assert.ts";
import { emptyRun, latencyFixture, okCellFixture } from "../../tests/fixtures/run_fixture.ts";
import { applySpeedups } from "../results/speedup.ts";
import {
  fidelityLines,
  flopsRealized,
  formatSpeedup,
  summaryTable,
  TABLE_WIDTH,
} from "./summary_table.ts";

Deno.test("flopsRealized(): speed-up over the FLOPs reduction, only where work fell", () => {
  // A tenth of the FLOPs and ×5 faster: half the reduction realized.
  assertEquals(flopsRealized(5, 0.1), 0.5);
  assertEquals(flopsRealized(12, 0.1), 1.2000000000000002);
  assertEquals(flopsRealized(0.5, 2), null);
  assertEquals(flopsRealized(null, 0.1), null);
  assertEquals(flopsRealized(3, null), null);
});

Deno.test("formatSpeedup() shows the interval when there is one", () => {
  assertEquals(
    formatSpeedup({ value: 7.2412, ci95: [6.9, 7.61], clock: "wall", pairs: 9 }),
    "×7.24 [6.90–7.61]",
  );
  assertEquals(formatSpeedup({ value: 2, ci95: null, clock: "wall", pairs: 0 }), "×2.00");
  assertEquals(formatSpeedup(null), "—");
});

Deno.test("summaryTable() fits a 120-column terminal even with long parameters", () => {
  const params = Object.fromEntries(
    Array.from({ length: 12 }, (_, i) => [`someLongParameterName${i}`, 1000 + i]),
  );
  const caseParams = Object.fromEntries(
    Array.from({ length: 10 }, (_, i) => [`caseParameter${i}`, 10000 + i]),
  );
  const cells = [
    okCellFixture({
      methodId: "dense-baseline-with-a-long-name",
      isReference: true,
      latency: latencyFixture([8, 8.1, 8.2]),
      caseParams,
    }),
    okCellFixture({
      methodId: "a-sparse-method-with-an-even-longer-identifier-than-most",
      params,
      latency: latencyFixture([2, 2.2, 2.1], { noisy: true }),
      caseParams,
      realizedDensity: 0.1,
    }),
  ];
  applySpeedups(cells);
  const text = summaryTable({ ...emptyRun(), cells });
  for (const line of text.split("\n")) {
    assert(line.length <= TABLE_WIDTH, `${line.length} columns: ${line}`);
  }
  assertStringIncludes(text, "noisy");
  assertStringIncludes(text, "×3.86 [");
  // The wide table keeps every parameter.
  assertStringIncludes(
    summaryTable({ ...emptyRun(), cells }, { wide: true }),
    "someLongParameterName11=1011",
  );
});

Deno.test("summaryTable() puts the parameters that tell a method's rows apart first", () => {
  const caseParams = { n: 8 };
  const cells = [1, 2].map((k) =>
    okCellFixture({
      methodId: "bm25",
      params: { k1: 0.9, b: 0.4, stemLongParameterName: 1, stopwordsLongParameterName: k },
      latency: latencyFixture([1, 1, 1]),
      caseParams,
    })
  );
  const text = summaryTable({ ...emptyRun(), cells });
  assertStringIncludes(text, "stopwordsLongParameterName=1,");
  assertStringIncludes(text, "stopwordsLongParameterName=2,");
});

Deno.test("summaryTable() shows each cell's fidelity label; fidelityLines() explains stand-ins and oracles", () => {
  const cells = [
    okCellFixture({ methodId: "dense", isReference: true, latency: latencyFixture([4, 4, 4]) }),
    okCellFixture({ methodId: "nosa", latency: latencyFixture([1, 1, 1]) }),
    okCellFixture({ methodId: "old-method", latency: latencyFixture([2, 2, 2]) }),
  ];
  cells[0].method.fidelity = { level: "baseline", reason: "dense" };
  cells[1].method.fidelity = { level: "stand-in", reason: "‖k‖₁ for the eviction head" };
  const run = { ...emptyRun(), cells };
  const lines = summaryTable(run).split("\n");
  assert(/^method +label +params/.test(lines[0]), lines[0]);
  assertStringIncludes(lines.find((l) => l.startsWith("nosa"))!, "stand-in");
  assertStringIncludes(lines.find((l) => l.startsWith("dense"))!, "baseline");
  // A cell of a file written before labels shows none.
  assertStringIncludes(lines.find((l) => l.startsWith("old-method"))!, "—");
  const notes = fidelityLines(run);
  assertEquals(notes.length, 2);
  assertEquals(notes[1], "  nosa — stand-in: ‖k‖₁ for the eviction head");
  assertEquals(fidelityLines({ ...run, cells: [cells[0]] }), []);
});

Deno.test("summaryTable() and fidelityLines() take today's label, marked *, for a file written before labels", () => {
  const cells = [okCellFixture({ methodId: "nosa", latency: latencyFixture([1, 1, 1]) })];
  const run = { ...emptyRun(), cells };
  const today = new Map([["nosa", { level: "stand-in" as const, reason: "‖k‖₁" }]]);
  assertStringIncludes(summaryTable(run, { labels: today }), "stand-in*");
  const notes = fidelityLines(run, today);
  assertStringIncludes(notes[0], "(* today's label: the run file predates labels)");
  assertEquals(notes[1], "  nosa — stand-in*: ‖k‖₁");
  assertEquals(fidelityLines(run), []);
});

Deno.test("summaryTable() shows the speed-up against the fastest dense engine where it is not the reference", () => {
  const peer = okCellFixture({ methodId: "peer-dense", latency: latencyFixture([2, 2, 2]) });
  peer.method.fidelity = { level: "peer", reason: "test" };
  peer.sparsity.nominalDensity = 1;
  const cells = [
    okCellFixture({ methodId: "dense", isReference: true, latency: latencyFixture([4, 4, 4]) }),
    peer,
    okCellFixture({ methodId: "sparse", latency: latencyFixture([1, 1, 1]) }),
  ];
  applySpeedups(cells);
  const text = summaryTable({ ...emptyRun(), cells });
  assertStringIncludes(text, "vs fastest dense");
  assertStringIncludes(text, "fastest dense: peer-dense");
  const sparseRow = text.split("\n").find((l) => l.startsWith("sparse"))!;
  assertStringIncludes(sparseRow, "×4.00");
  assertStringIncludes(sparseRow, "×2.00");
  assertStringIncludes(summaryTable({ ...emptyRun(), cells }, { wide: true }), "realized");
});
