// Speed-ups against the reference (dense baseline) cell of the same case in the same run.
import type { Cell, Latency } from "./schema.ts";

/** The headline latency of a cell: kernel time where measured, else wall time. */
export function headlineP50(latency: Latency): number {
  return (latency.kernel ?? latency.wall).p50;
}

/** The key of a cell's case: cells of one case share inputs and a baseline. */
export function caseKeyOf(cell: Cell): string {
  return `${cell.task.id}|${JSON.stringify(Object.entries(cell.task.case).sort())}`;
}

/**
 * The p50s a speed-up compares: headline figures when both cells were timed by the same clock,
 * else their wall times (a peer library timed by wall clock against a kernel timed on the GPU).
 */
export function comparableP50s(reference: Latency, cell: Latency): [number, number] {
  return reference.source === cell.source
    ? [headlineP50(reference), headlineP50(cell)]
    : [reference.wall.p50, cell.wall.p50];
}

/**
 * Sets `speedup` on every cell: reference p50 / cell p50 (see {@link comparableP50s}) when both
 * cells are `ok`; null otherwise (never a speed-up against a failed baseline).
 */
export function applySpeedups(cells: Cell[]): void {
  const references = new Map<string, Cell>();
  for (const cell of cells) {
    if (cell.isReference && cell.status === "ok" && cell.latency) {
      references.set(caseKeyOf(cell), cell);
    }
  }
  for (const cell of cells) {
    const ref = references.get(caseKeyOf(cell));
    if (!ref?.latency || !cell.latency || cell.status !== "ok") {
      cell.speedup = null;
      continue;
    }
    const [base, own] = comparableP50s(ref.latency, cell.latency);
    cell.speedup = base / own;
  }
}
