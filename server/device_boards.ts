// The devices page's figures: every device seen, its runs, and per task each method's newest
// speed-up on it (with the run's paired-bootstrap interval); then, per device class (software
// adapters, or one GPU vendor and architecture), the best sparse method of each task.
import { type Aggregates, BEST_EXCLUDES, type Row } from "./aggregate.ts";
import { type Device, deviceClassOf } from "./devices.ts";

/** One method's newest figure on one device and task. */
export interface DeviceMethodFigure {
  methodId: string;
  fidelity: string | null;
  paramsText: string;
  caseLabel: string;
  speedup: number | null;
  speedupCi: [number, number] | null;
  realizedDensity: number | null;
  metricName: string;
  metric: number | null;
  metricCi: [number, number] | null;
  status: Row["status"];
  runId: string;
  verified: boolean;
}

/** A device with its runs and figures. */
export interface DeviceBoard {
  device: Device;
  runs: number;
  verifiedRuns: number;
  /** Whether any run of it came from the runner page. */
  fromBrowser: boolean;
  /** See deviceClassOf(). */
  deviceClass: string;
  tasks: { taskId: string; figures: DeviceMethodFigure[] }[];
}

/** The best sparse figure of a task within one device class. */
export interface ClassBest {
  deviceClass: string;
  taskId: string;
  figure: DeviceMethodFigure;
  deviceLabel: string;
}

function figureOf(row: Row): DeviceMethodFigure {
  return {
    methodId: row.methodId,
    fidelity: row.fidelity?.level ?? null,
    paramsText: row.paramsText,
    caseLabel: row.caseLabel,
    speedup: row.speedup,
    speedupCi: row.speedupCi,
    realizedDensity: row.realizedDensity,
    metricName: row.metricName,
    metric: row.metric,
    metricCi: row.metricCi,
    status: row.status,
    runId: row.runId,
    verified: row.verified,
  };
}

/** A sparse contender: ok, not the baseline, skipped work, neither stand-in nor oracle. */
function isSparseContender(f: DeviceMethodFigure, row: Row): boolean {
  return f.status === "ok" && !row.isReference && f.speedup !== null &&
    (row.realizedDensity === null || row.realizedDensity < 1) &&
    (row.fidelity === null || !BEST_EXCLUDES.includes(row.fidelity.level));
}

/**
 * Every device's board and the best sparse method per device class and task.
 *
 * @param data the aggregates of the loaded runs
 */
export function deviceBoards(data: Aggregates): { devices: DeviceBoard[]; best: ClassBest[] } {
  const devices: DeviceBoard[] = [];
  const best = new Map<string, ClassBest>();
  for (const device of data.devices.values()) {
    const runs = device.runIds.map((id) => data.runs.get(id)).filter((r) => r !== undefined);
    const tasks: DeviceBoard["tasks"] = [];
    for (const [taskId, perDevice] of data.boards) {
      const rows = perDevice.get(device.id)?.all.rows ?? [];
      if (rows.length === 0) continue;
      // Newest run first, so the first row of a method, case and parameters is its newest.
      const newest = new Map<string, Row>();
      for (const row of [...rows].sort((a, b) => b.runStartedAt.localeCompare(a.runStartedAt))) {
        const key = `${row.methodId}|${row.caseKey}|${row.paramsText}`;
        if (!newest.has(key)) newest.set(key, row);
      }
      const list = [...newest.values()].sort((a, b) =>
        a.caseKey.localeCompare(b.caseKey) || a.methodId.localeCompare(b.methodId)
      );
      tasks.push({ taskId, figures: list.map(figureOf) });
      for (const row of list) {
        const f = figureOf(row);
        if (!isSparseContender(f, row)) continue;
        const key = `${deviceClassOf(device)}|${taskId}`;
        const held = best.get(key);
        if (!held || f.speedup! > held.figure.speedup!) {
          best.set(key, {
            deviceClass: deviceClassOf(device),
            taskId,
            figure: f,
            deviceLabel: device.label,
          });
        }
      }
    }
    devices.push({
      device,
      deviceClass: deviceClassOf(device),
      runs: runs.length,
      verifiedRuns: runs.filter((r) => r.verified).length,
      fromBrowser: runs.some((r) => r.source === "browser"),
      tasks,
    });
  }
  devices.sort((a, b) => a.device.label.localeCompare(b.device.label));
  const classes = [...best.values()].sort((a, b) =>
    a.deviceClass.localeCompare(b.deviceClass) || a.taskId.localeCompare(b.taskId)
  );
  return { devices, best: classes };
}
