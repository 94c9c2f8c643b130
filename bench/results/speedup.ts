// Speed-ups against the reference (dense baseline) cell of the same case in the same run, with a
// paired-bootstrap interval over the rounds both cells were timed in.
import { median, pairedRatioInterval } from "../stats.ts";
import type { Cell, Latency, OkCell, Speedup } from "./schema.ts";

/** The headline latency of a cell: kernel time where measured, else wall time. */
export function headlineP50(latency: Latency): number {
  return (latency.kernel ?? latency.wall).p50;
}

/** The key of a cell's case: cells of one case share inputs and a baseline. */
export function caseKeyOf(cell: Cell): string {
  return `${cell.task.id}|${JSON.stringify(Object.entries(cell.task.case).sort())}`;
}

/**
 * Which clock a speed-up compares: the headline clock when both cells were timed by it, else
 * wall time (a peer library timed by wall clock against a kernel timed on the GPU).
 */
export function comparableClock(reference: Latency, cell: Latency): Speedup["clock"] {
  return reference.source === cell.source ? cell.source : "wall";
}

function seriesOf(latency: Latency, clock: Speedup["clock"]) {
  const summary = clock === "gpu-timestamp" && latency.kernel ? latency.kernel : latency.wall;
  return summary;
}

/**
 * The speed-up of `cell` over `reference`: median(reference) / median(cell) over the rounds both
 * were timed in (same `sampledIn`), with a 95% paired-bootstrap interval; for cells with no
 * recorded rounds in common (files of schema 1), the ratio of their p50s and no interval.
 *
 * @example
 * ```ts
 * import { speedupOf } from "./speedup.ts";
 * import { latencyFixture } from "../../tests/fixtures/run_fixture.ts";
 * import { assert, assertEquals } from "../../tests/assert.ts";
 * const base = latencyFixture([10, 10.2, 9.9, 10.1, 10]);
 * const fast = latencyFixture([2, 2.1, 2, 1.9, 2]);
 * const s = speedupOf(base, fast);
 * assertEquals([s.value, s.pairs], [5, 5]);
 * assert(s.ci95![0] <= 5 && 5 <= s.ci95![1]);
 * ```
 */
export function speedupOf(reference: Latency, cell: Latency): Speedup {
  const clock = comparableClock(reference, cell);
  const ref = seriesOf(reference, clock);
  const own = seriesOf(cell, clock);
  const byRound = new Map<number, number>();
  reference.rounds.forEach((round, i) => byRound.set(round, ref.samples[i]));
  const a: number[] = [];
  const b: number[] = [];
  if (reference.sampledIn !== null && reference.sampledIn === cell.sampledIn) {
    cell.rounds.forEach((round, i) => {
      const base = byRound.get(round);
      if (base !== undefined) {
        a.push(base);
        b.push(own.samples[i]);
      }
    });
  }
  if (a.length < 2 || a.some((v) => v <= 0) || b.some((v) => v <= 0)) {
    return { value: ref.p50 / own.p50, ci95: null, clock, pairs: a.length };
  }
  return {
    value: median(a) / median(b),
    ci95: pairedRatioInterval(a, b),
    clock,
    pairs: a.length,
  };
}

/**
 * Whether an ok cell is a dense engine of its case: the reference, or a baseline or peer that
 * computes every pair (nominal density 1), e.g. an older dense kernel or another library's.
 */
function isDenseEngine(cell: OkCell): boolean {
  if (cell.isReference) return true;
  const level = cell.method.fidelity?.level;
  return (level === "baseline" || level === "peer") && cell.sparsity.nominalDensity === 1;
}

/**
 * The fastest dense engine of each case, by its speed-up over the case's reference (so a kernel
 * timed on the GPU and a library timed by wall clock compare on their common clock); the
 * reference itself where nothing beats it.
 *
 * @param cells a run's cells
 * @returns by case key, the fastest ok dense engine
 */
export function fastestDenseEngines(cells: readonly Cell[]): Map<string, OkCell> {
  const fastest = new Map<string, { cell: OkCell; speedup: number }>();
  const references = new Map<string, OkCell>();
  for (const cell of cells) {
    if (cell.isReference && cell.status === "ok") references.set(caseKeyOf(cell), cell);
  }
  for (const cell of cells) {
    if (cell.status !== "ok" || !isDenseEngine(cell)) continue;
    const key = caseKeyOf(cell);
    const ref = references.get(key);
    const speedup = ref ? speedupOf(ref.latency, cell.latency).value : 1;
    const best = fastest.get(key);
    if (!best || speedup > best.speedup) fastest.set(key, { cell, speedup });
  }
  return new Map([...fastest].map(([key, { cell }]) => [key, cell]));
}

/**
 * Sets `speedup` on every `ok` cell whose case has an `ok` reference cell and that has none yet
 * (speed-ups are deterministic, so one computed stays right), and `speedupVsFastestDense` on every
 * `ok` cell whose case has an ok dense engine ({@link fastestDenseEngines}); never a speed-up
 * against a failed baseline.
 */
export function applySpeedups(cells: Cell[]): void {
  const references = new Map<string, OkCell>();
  for (const cell of cells) {
    if (cell.isReference && cell.status === "ok") references.set(caseKeyOf(cell), cell);
  }
  for (const cell of cells) {
    if (cell.status !== "ok" || cell.speedup !== null) continue;
    const ref = references.get(caseKeyOf(cell));
    if (ref) cell.speedup = speedupOf(ref.latency, cell.latency);
  }
  // Against the fastest dense engine: recomputed each time, as a later cell (a resumed run's)
  // may be a faster engine.
  const engines = fastestDenseEngines(cells);
  for (const cell of cells) {
    if (cell.status !== "ok") continue;
    const engine = engines.get(caseKeyOf(cell));
    if (engine) {
      cell.speedupVsFastestDense = {
        ...speedupOf(engine.latency, cell.latency),
        method: engine.method.id,
      };
    }
  }
}
