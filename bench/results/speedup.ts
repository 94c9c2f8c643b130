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
 * Sets `speedup` on every cell: reference p50 / cell p50, when both cells are `ok` and timed by
 * the same clock; null otherwise (never a speed-up from different clocks or a failed baseline).
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
    cell.speedup = ref?.latency && cell.latency && cell.status === "ok" &&
        ref.latency.source === cell.latency.source
      ? headlineP50(ref.latency) / headlineP50(cell.latency)
      : null;
  }
}
