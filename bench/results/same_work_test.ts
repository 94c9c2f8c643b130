import { assertEquals } from "../../tests/assert.ts";
import { latencyFixture, okCellFixture } from "../../tests/fixtures/run_fixture.ts";
import type { Cell } from "./schema.ts";
import { sameWorkPairs } from "./same_work.ts";
import { applySpeedups } from "./speedup.ts";

function cellsWith(a: number[], b: number[], densities: [number, number] = [0.1, 0.1]): Cell[] {
  const cells: Cell[] = [
    okCellFixture({
      methodId: "dense",
      isReference: true,
      latency: latencyFixture([9, 9.5, 9, 9.2]),
    }),
    okCellFixture({
      methodId: "window",
      latency: latencyFixture(a),
      realizedDensity: densities[0],
    }),
    okCellFixture({ methodId: "sinks", latency: latencyFixture(b), realizedDensity: densities[1] }),
  ];
  for (const c of cells) if (c.status === "ok") c.sparsity.flopsRatio = c.sparsity.realizedDensity;
  applySpeedups(cells);
  return cells;
}

Deno.test("sameWorkPairs() flags equal work whose speed-up intervals do not overlap", () => {
  const pairs = sameWorkPairs(cellsWith([1, 1.1, 1, 1.05], [3, 3.2, 3.1, 3]));
  assertEquals(pairs.length, 1);
  assertEquals(pairs[0].overlap, false);
});

Deno.test("sameWorkPairs() passes equal work with overlapping intervals and ignores other work", () => {
  assertEquals(sameWorkPairs(cellsWith([1, 1.1, 1, 1.05], [1.02, 1.08, 1, 1.1]))[0].overlap, true);
  assertEquals(sameWorkPairs(cellsWith([1, 1, 1, 1], [3, 3, 3, 3], [0.1, 0.3])), []);
});

Deno.test("sameWorkPairs() does not pair equal work done by different kernels", () => {
  const cells = cellsWith([1, 1.1, 1, 1.05], [3, 3.2, 3.1, 3]);
  const [, csr, nm] = cells;
  if (csr.status !== "ok" || nm.status !== "ok") throw new Error("fixture cells are ok");
  csr.sparsity.kernel = "csr";
  nm.sparsity.kernel = "n:m";
  assertEquals(sameWorkPairs(cells), []);
  nm.sparsity.kernel = "csr";
  assertEquals(sameWorkPairs(cells).length, 1);
});
