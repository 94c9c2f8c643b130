// A consistency check any run can make of itself: cells of one case that did the same work (the
// same realized density and FLOPs) must show the same speed-up within their intervals. If they
// do not, the timing is not measuring the work (order effects, drift, too few samples).
import type { Cell, Interval, OkCell } from "./schema.ts";
import { caseKeyOf } from "./speedup.ts";

/** Two cells of one case that did the same work, and whether their speed-up intervals overlap. */
export interface SameWorkPair {
  a: OkCell;
  b: OkCell;
  /** Null where either speed-up has no interval (files of schema 1). */
  overlap: boolean | null;
}

function same(x: number | null, y: number | null): boolean {
  return x !== null && y !== null && Math.abs(x - y) <= 1e-9 * Math.max(Math.abs(x), Math.abs(y));
}

function overlaps(x: Interval, y: Interval): boolean {
  return x[0] <= y[1] && y[0] <= x[1];
}

/**
 * Pairs of `ok` cells of one case whose realized density and FLOPs ratio are equal (both known,
 * below 1 and of different methods or parameters) and that ran on the same kernel, with whether
 * their speed-up intervals overlap.
 *
 * @example
 * ```ts
 * import { sameWorkPairs } from "./same_work.ts";
 * import { latencyFixture, okCellFixture } from "../../tests/fixtures/run_fixture.ts";
 * import { applySpeedups } from "./speedup.ts";
 * import { assertEquals } from "../../tests/assert.ts";
 * const cells = [
 *   okCellFixture({ methodId: "dense", isReference: true, latency: latencyFixture([9, 9, 9]) }),
 *   okCellFixture({ methodId: "window", latency: latencyFixture([3, 3, 3]), realizedDensity: 0.1 }),
 *   okCellFixture({ methodId: "sinks", latency: latencyFixture([3, 3, 3]), realizedDensity: 0.1 }),
 * ];
 * for (const c of cells) if (c.status === "ok") c.sparsity.flopsRatio = c.sparsity.realizedDensity;
 * applySpeedups(cells);
 * assertEquals(sameWorkPairs(cells).map((p) => p.overlap), [true]);
 * ```
 */
export function sameWorkPairs(cells: readonly Cell[]): SameWorkPair[] {
  const byCase = new Map<string, OkCell[]>();
  for (const cell of cells) {
    if (cell.status !== "ok" || cell.isReference || !cell.speedup) continue;
    const density = cell.sparsity.realizedDensity;
    if (density === null || density >= 1) continue;
    const key = caseKeyOf(cell);
    byCase.set(key, [...(byCase.get(key) ?? []), cell]);
  }
  const pairs: SameWorkPair[] = [];
  for (const group of byCase.values()) {
    for (let i = 0; i < group.length; i++) {
      for (let j = i + 1; j < group.length; j++) {
        const [a, b] = [group[i], group[j]];
        if (
          !same(a.sparsity.realizedDensity, b.sparsity.realizedDensity) ||
          !same(a.sparsity.flopsRatio, b.sparsity.flopsRatio) ||
          a.sparsity.kernel !== b.sparsity.kernel
        ) continue;
        const [x, y] = [a.speedup!.ci95, b.speedup!.ci95];
        pairs.push({ a, b, overlap: x && y ? overlaps(x, y) : null });
      }
    }
  }
  return pairs;
}
