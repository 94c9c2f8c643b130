import { assert, assertAlmostEquals, assertEquals } from "../../tests/assert.ts";
import { latencyFixture, okCellFixture } from "../../tests/fixtures/run_fixture.ts";
import type { Cell } from "./schema.ts";
import { applySpeedups, speedupOf } from "./speedup.ts";

Deno.test("speedupOf() pairs samples of the same round and gives an interval around the ratio", () => {
  const base = latencyFixture([10, 12, 10, 11, 10, 13]);
  // Same rounds, the method at half the time with the same drift: ×2 in every round.
  const fast = latencyFixture([5, 6, 5, 5.5, 5, 6.5]);
  const s = speedupOf(base, fast);
  assertAlmostEquals(s.value, 2, 1e-12);
  assertEquals(s.ci95, [2, 2]);
  assertEquals(s.pairs, 6);
  assertEquals(s.clock, "wall");
});

Deno.test("speedupOf() pairs only the rounds both cells were timed in", () => {
  const base = latencyFixture([10, 10, 10, 10, 10, 10], { rounds: [0, 1, 2, 3, 4, 5] });
  const fast = latencyFixture([4, 6, 5], { rounds: [1, 3, 5] });
  const s = speedupOf(base, fast);
  assertEquals(s.pairs, 3);
  assertEquals(s.value, 2);
  assert(s.ci95![0] <= 2 && 2 <= s.ci95![1] && s.ci95![0] >= 10 / 6 && s.ci95![1] <= 2.5);
});

Deno.test("speedupOf() of cells from different samplings has no interval", () => {
  const base = latencyFixture([10, 10, 10], { sampledIn: "a" });
  const fast = latencyFixture([5, 5, 5], { sampledIn: "b" });
  assertEquals(speedupOf(base, fast), { value: 2, ci95: null, clock: "wall", pairs: 0 });
});

Deno.test("applySpeedups() sets speed-ups against the ok reference of the same case only", () => {
  const cells: Cell[] = [
    okCellFixture({ methodId: "dense", isReference: true, latency: latencyFixture([8, 8, 8]) }),
    okCellFixture({ methodId: "fast", latency: latencyFixture([2, 2, 2]) }),
    okCellFixture({
      methodId: "other-case",
      latency: latencyFixture([1, 1]),
      caseParams: { n: 9 },
    }),
  ];
  applySpeedups(cells);
  assertEquals(cells.map((c) => c.speedup?.value ?? null), [1, 4, null]);
});

Deno.test("applySpeedups() also compares every cell with the case's fastest dense engine", () => {
  const engine = (methodId: string, level: "baseline" | "peer", ms: number[], density = 1) => {
    const cell = okCellFixture({ methodId, latency: latencyFixture(ms) });
    cell.method.fidelity = { level, reason: "test" };
    cell.sparsity.nominalDensity = density;
    return cell;
  };
  const cells: Cell[] = [
    okCellFixture({ methodId: "dense", isReference: true, latency: latencyFixture([8, 8, 8]) }),
    engine("old-dense", "baseline", [16, 16, 16]),
    engine("peer-dense", "peer", [4, 4, 4]),
    // A peer computing part of the pairs is no dense engine, however fast.
    engine("peer-sparse", "peer", [1, 1, 1], 0.5),
    okCellFixture({ methodId: "sparse", latency: latencyFixture([2, 2, 2]) }),
  ];
  applySpeedups(cells);
  const vs = cells.map((c) => c.status === "ok" ? c.speedupVsFastestDense : undefined);
  assertEquals(vs.map((s) => s?.method), Array(5).fill("peer-dense"));
  assertEquals(vs.map((s) => s?.value), [0.5, 0.25, 1, 4, 2]);
  assertEquals(cells.map((c) => c.speedup?.value ?? null), [1, 0.5, 2, 8, 4]);
});

Deno.test("applySpeedups() takes the reference as fastest dense when no engine beats it", () => {
  const cells: Cell[] = [
    okCellFixture({ methodId: "dense", isReference: true, latency: latencyFixture([3, 3, 3]) }),
    okCellFixture({ methodId: "sparse", latency: latencyFixture([2, 2, 2]) }),
  ];
  applySpeedups(cells);
  const s = cells[1].status === "ok" ? cells[1].speedupVsFastestDense : undefined;
  assertEquals([s?.method, s?.value], ["dense", 1.5]);
});
