// What the leaderboard already holds for a cell the page just ran: the same method and parameters
// on the same task, on this very device if anyone has sent a run from it, else on a device of the
// same class (server/devices.ts), so a visitor sees at once whether their figure is typical.
import type { Cell } from "../bench/results/schema.ts";
import type { ClassBest, DeviceBoard } from "../server/device_boards.ts";

/** The /api/devices document. */
export interface DevicesDocument {
  devices: DeviceBoard[];
  best: ClassBest[];
}

/** Parameters as the leaderboard writes them: keys sorted, `k=v, k=v`. */
export function paramsText(params: Record<string, number | boolean | string>): string {
  return Object.keys(params).sort().map((k) => `${k}=${params[k]}`).join(", ");
}

/**
 * The leaderboard's speed-up for a cell's method and parameters on its task: this device's
 * newest, else the newest on another device of the class; "—" when there is none.
 *
 * @param doc /api/devices
 * @param here this run's device id and class
 * @param cell the cell just recorded
 * @returns e.g. "×2.10 [1.90–2.31] on this device" or "×3.4 [3.1–3.6] on <label>"
 */
export function leaderboardFigure(
  doc: DevicesDocument,
  here: { id: string; deviceClass: string },
  cell: Cell,
): string {
  if (cell.isReference) return "baseline";
  const wanted = paramsText(cell.method.params);
  const find = (board: DeviceBoard) =>
    board.tasks.find((t) => t.taskId === cell.task.id)?.figures.find((f) =>
      f.methodId === cell.method.id && f.paramsText === wanted && f.status === "ok" &&
      f.speedup !== null
    );
  const same = doc.devices.find((d) => d.device.id === here.id);
  const sameFigure = same && find(same);
  const [board, figure] = sameFigure ? [same, sameFigure] : (() => {
    for (const d of doc.devices) {
      if (d.device.id === here.id || d.deviceClass !== here.deviceClass) continue;
      const f = find(d);
      if (f) return [d, f] as const;
    }
    return [null, null] as const;
  })();
  if (!board || !figure) return "—";
  const ci = figure.speedupCi
    ? ` [${figure.speedupCi[0].toFixed(2)}–${figure.speedupCi[1].toFixed(2)}]`
    : "";
  const where = board.device.id === here.id ? "this device" : board.device.label;
  return `×${figure.speedup!.toFixed(2)}${ci} on ${where} (${figure.caseLabel})`;
}
