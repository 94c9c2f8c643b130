// Everything the leaderboard shows, computed once per change of the results folder: requests
// only look up and filter what is built here.
import { type Fidelity, NOT_BEST_LEVELS } from "../bench/metadata.ts";
import type { Cell, RunFile } from "../bench/results/schema.ts";
import { type Device, deviceOf, deviceOfCell } from "./devices.ts";
import { latencyOf, metricOf, speedupOf } from "./figures.ts";
import { paretoFrontier } from "./pareto.ts";
import { BANDED_FAMILIES, bandOrder, densityBand, shapeOf } from "./density_bands.ts";

/** One cell of one run, flattened for tables, charts, CSV and JSON. */
export interface Row {
  runId: string;
  runStartedAt: string;
  verified: boolean;
  deviceId: string;
  /** The adapter as people read it. */
  deviceLabel: string;
  taskId: string;
  family: string;
  caseKey: string;
  /** The case for people (a count of 0 that means "all" reads `all`). */
  caseLabel: string;
  case: Record<string, number | boolean | string>;
  methodId: string;
  methodTitle: string;
  /** How faithful the method is to its paper: the run's label, else the catalog's, else null. */
  fidelity: Fidelity | null;
  /** Where `fidelity` came from: the run file, or the catalog for files written before labels. */
  fidelityFrom: "run" | "catalog" | null;
  params: Record<string, number | boolean | string>;
  paramsText: string;
  isReference: boolean;
  status: Cell["status"];
  error: string | null;
  metricName: string;
  higherIsBetter: boolean;
  metric: number | null;
  /** From the metrics `<main>_ci95_low` / `<main>_ci95_high`, when the task reports them. */
  metricCi: [number, number] | null;
  p50Ms: number | null;
  /** Bootstrap 95% interval of the median (null for files of schema 1). */
  p50Ci: [number, number] | null;
  latencySource: "kernel" | "wall" | null;
  /** Timed samples behind the p50. */
  samples: number | null;
  /** Adaptive sampling stopped at its cap short of ±3% (null: not recorded, schema 1). */
  noisy: boolean | null;
  speedup: number | null;
  /** The speed-up's 95% interval, when the run file has one. */
  speedupCi: [number, number] | null;
  /** The speed-up against the case's fastest dense engine (null where the file has none). */
  speedupVsFastestDense: number | null;
  speedupVsFastestDenseCi: [number, number] | null;
  /** Which method that engine was. */
  fastestDenseMethod: string | null;
  nominalDensity: number | null;
  realizedDensity: number | null;
  flopsRatio: number | null;
  cellKey: string;
  /** Realized-density band, for families compared by band (attention); null otherwise. */
  densityBand: string | null;
  /** The case without its matched-budget parameters: a method's curve joins cells sharing it. */
  shapeKey: string;
  /** How the cell's budget knob was tuned to its case's target density, when it was. */
  tuning: { param: string; value: number; targetDensity: number; achievedDensity: number } | null;
}

/** The best rows of one realized-density band (see {@link TaskSummary.bestByBand}). */
export interface BandBest {
  band: string;
  bestQuality: Row | null;
  fastest: Row | null;
  bestQualityAnyLabel: Row | null;
  fastestAnyLabel: Row | null;
}

/** The rows of one task on one device (or all devices), with their Pareto frontier marked. */
export interface Board {
  rows: Row[];
  /** Indices into `rows` of the frontier of quality against speed-up (ok rows only). */
  frontier: number[];
}

/** A task as seen across all runs. */
export interface TaskSummary {
  id: string;
  family: string;
  version: string;
  metricName: string;
  higherIsBetter: boolean;
  runIds: string[];
  deviceIds: string[];
  methodIds: string[];
  /** The device of the latest verified run with this task: the default of the device filter. */
  defaultDeviceId: string | null;
  /**
   * Best main metric among ok, non-reference, verified rows of the default device that skipped
   * work, leaving out methods labelled stand-in or oracle ({@link BEST_EXCLUDES}).
   */
  bestQuality: Row | null;
  /** Highest speed-up among the same rows. */
  fastest: Row | null;
  /** The labels `bestQuality` and `fastest` leave out. */
  bestExcludes: readonly string[];
  /** As `bestQuality`, stand-ins and oracles included. */
  bestQualityAnyLabel: Row | null;
  /** As `fastest`, stand-ins and oracles included. */
  fastestAnyLabel: Row | null;
  /**
   * For a family compared by band (attention): the same figures in each realized-density band,
   * sparsest first; the overview shows these instead of the four above (which span every band),
   * so "best" never sets a cell against one that attended a different share of keys.
   */
  bestByBand: BandBest[];
}

/** Labels "best" leaves out by default: their figures are a heuristic's or an upper bound. */
export const BEST_EXCLUDES: readonly string[] = NOT_BEST_LEVELS;

/** A method as seen across all runs. */
export interface MethodSummary {
  id: string;
  title: string;
  family: string;
  /** The newest run's label (or the catalog's for older files); null when neither has one. */
  fidelity: Fidelity | null;
  versions: string[];
  taskIds: string[];
  runIds: string[];
}

/** A run's headline facts. */
export interface RunSummary {
  runId: string;
  startedAt: string;
  endedAt: string | null;
  status: RunFile["status"];
  profile: string;
  verified: boolean;
  deviceId: string;
  cells: number;
  failures: number;
  families: string[];
}

/** Everything the pages and the API read. */
export interface Aggregates {
  runs: Map<string, RunFile>;
  /** Newest first. */
  runList: RunSummary[];
  devices: Map<string, Device & { runIds: string[] }>;
  tasks: Map<string, TaskSummary>;
  methods: Map<string, MethodSummary>;
  /** Every row of every run for a method, oldest run first: its trend. */
  methodRows: Map<string, Row[]>;
  /** Per task, per device id ("all" for every device), verified-only and including unverified. */
  boards: Map<string, Map<string, { verified: Board; all: Board }>>;
}

/**
 * Every method's label as the aggregates know it (its newest run's, or the catalog's): the
 * fallback for cells of files written before methods declared one.
 */
export function knownLabels(data: Aggregates): Map<string, Fidelity> {
  const labels = new Map<string, Fidelity>();
  for (const [id, m] of data.methods) if (m.fidelity) labels.set(id, m.fidelity);
  return labels;
}

/** Device key of boards that mix every device. */
export const ALL_DEVICES = "all";

/** Renders parameter values compactly and stably (keys sorted). */
export function formatParams(params: Record<string, number | boolean | string>): string {
  return Object.keys(params).sort().map((k) => `${k}=${params[k]}`).join(", ");
}

/** Options of {@link aggregate}. */
export interface AggregateOptions {
  /**
   * Labels by method id for cells of files written before methods declared one (the committed
   * catalog's): today's label of that method, which the page marks as such.
   */
  labels?: ReadonlyMap<string, Fidelity>;
}

function toRow(
  run: RunFile,
  device: Device,
  cell: Cell,
  labels: ReadonlyMap<string, Fidelity>,
): Row {
  const latency = latencyOf(cell);
  const fromCatalog = cell.method.fidelity ? undefined : labels.get(cell.method.id);
  const metric = metricOf(cell);
  const speedup = speedupOf(cell);
  const fastest = cell.status === "ok" ? cell.speedupVsFastestDense : undefined;
  return {
    runId: run.runId,
    runStartedAt: run.startedAt,
    verified: run.verified,
    deviceId: device.id,
    deviceLabel: device.label,
    taskId: cell.task.id,
    family: cell.task.family,
    caseKey: formatParams(cell.task.case),
    caseLabel: cell.task.caseLabel,
    case: cell.task.case,
    methodId: cell.method.id,
    methodTitle: cell.method.title,
    fidelity: cell.method.fidelity ?? fromCatalog ?? null,
    fidelityFrom: cell.method.fidelity ? "run" : fromCatalog ? "catalog" : null,
    params: cell.method.params,
    paramsText: formatParams(cell.method.params),
    isReference: cell.isReference,
    status: cell.status,
    error: cell.error,
    metricName: cell.mainMetric.name,
    higherIsBetter: cell.mainMetric.higherIsBetter,
    metric: metric?.value ?? null,
    metricCi: metric?.ci95 ?? null,
    p50Ms: latency?.value ?? null,
    p50Ci: latency?.ci95 ?? null,
    latencySource: latency?.source ?? null,
    samples: latency?.samples ?? null,
    noisy: latency?.noisy ?? null,
    speedup: speedup?.value ?? null,
    speedupCi: speedup?.ci95 ?? null,
    speedupVsFastestDense: fastest?.value ?? null,
    speedupVsFastestDenseCi: fastest?.ci95 ?? null,
    fastestDenseMethod: fastest?.method ?? null,
    nominalDensity: cell.sparsity?.nominalDensity ?? null,
    realizedDensity: cell.sparsity?.realizedDensity ?? null,
    flopsRatio: cell.sparsity?.flopsRatio ?? null,
    cellKey: cell.key,
    densityBand: BANDED_FAMILIES.includes(cell.task.family)
      ? densityBand(cell.sparsity?.realizedDensity ?? null)
      : null,
    shapeKey: formatParams(shapeOf(cell.task.case)),
    tuning: cell.tuning
      ? {
        param: cell.tuning.param,
        value: cell.tuning.value,
        targetDensity: cell.tuning.targetDensity,
        achievedDensity: cell.tuning.achievedDensity,
      }
      : null,
  };
}

/** Orders rows best first: main metric, then speed-up, then method id for stability. */
export function compareRows(a: Row, b: Row): number {
  const sign = a.higherIsBetter ? -1 : 1;
  const am = a.metric ?? NaN;
  const bm = b.metric ?? NaN;
  if (Number.isNaN(am) !== Number.isNaN(bm)) return Number.isNaN(am) ? 1 : -1;
  if (!Number.isNaN(am) && am !== bm) return sign * (am - bm);
  const as = a.speedup ?? -Infinity;
  const bs = b.speedup ?? -Infinity;
  if (as !== bs) return bs - as;
  return a.methodId.localeCompare(b.methodId) || a.paramsText.localeCompare(b.paramsText) ||
    a.caseKey.localeCompare(b.caseKey);
}

/**
 * The board of some rows: the latest row per (device, case, method, parameters), best first,
 * with the Pareto frontier of ok rows.
 *
 * @param rows rows of one task, in any order
 * @returns the board
 */
export function buildBoard(rows: readonly Row[]): Board {
  const latest = new Map<string, Row>();
  for (const row of rows) {
    const key = `${row.deviceId}\u0000${row.caseKey}\u0000${row.methodId}\u0000${row.paramsText}`;
    const seen = latest.get(key);
    if (!seen || seen.runStartedAt < row.runStartedAt) latest.set(key, row);
  }
  const sorted = [...latest.values()].sort(compareRows);
  return { rows: sorted, frontier: frontierOf(sorted) };
}

/**
 * Pareto frontier indices of the ok rows that have both a speed-up and a main metric, one
 * frontier per (device, case): points of different shapes or devices are not comparable. Rows
 * with a density band have one per (device, shape, band) instead: a matched-density case and the
 * same shape at the methods' own parameters meet there, and no band's rows beat another's.
 */
export function frontierOf(rows: readonly Row[]): number[] {
  const groups = new Map<string, { i: number; speedup: number; quality: number }[]>();
  rows.forEach((r, i) => {
    if (r.status !== "ok" || r.speedup === null || r.metric === null) return;
    const where = r.densityBand === null ? r.caseKey : `${r.shapeKey}\u0000${r.densityBand}`;
    pushTo(groups, `${r.deviceId}\u0000${where}`, { i, speedup: r.speedup, quality: r.metric });
  });
  const frontier: number[] = [];
  for (const usable of groups.values()) {
    const picked = paretoFrontier(usable, rows[usable[0].i].higherIsBetter);
    frontier.push(...picked.map((k) => usable[k].i));
  }
  return frontier.sort((a, b) => a - b);
}

function pushTo<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

function pick(rows: readonly Row[], better: (a: Row, b: Row) => boolean): Row | null {
  let best: Row | null = null;
  for (const r of rows) if (!best || better(r, best)) best = r;
  return best;
}

/**
 * Builds every aggregate of the leaderboard from validated runs.
 *
 * @param runs validated run files with distinct run ids
 * @param options labels for cells of older files
 * @returns the aggregates
 */
export function aggregate(runs: readonly RunFile[], options: AggregateOptions = {}): Aggregates {
  const labels = options.labels ?? new Map<string, Fidelity>();
  const ordered = [...runs].sort((a, b) =>
    a.startedAt < b.startedAt ? -1 : a.startedAt > b.startedAt ? 1 : a.runId.localeCompare(b.runId)
  );
  const devices = new Map<string, Device & { runIds: string[] }>();
  const rowsByTask = new Map<string, Row[]>();
  const methodRows = new Map<string, Row[]>();
  const methods = new Map<string, MethodSummary>();
  const runList: RunSummary[] = [];
  const taskRuns = new Map<string, Set<string>>();

  for (const run of ordered) {
    const device = deviceOf(run);
    const note = (d: Device) => {
      const entry = devices.get(d.id) ?? { ...d, runIds: [] };
      if (entry.runIds.at(-1) !== run.runId) entry.runIds.push(run.runId);
      devices.set(d.id, entry);
    };
    note(device);
    const families = new Set<string>();
    for (const cell of run.cells) {
      // A merged run's shards may have run on different machines: each cell keeps its own.
      const cellDevice = run.shards ? deviceOfCell(run, cell) : device;
      if (cellDevice.id !== device.id) note(cellDevice);
      const row = toRow(run, cellDevice, cell, labels);
      families.add(cell.task.family);
      pushTo(rowsByTask, cell.task.id, row);
      pushTo(methodRows, cell.method.id, row);
      const m = methods.get(cell.method.id) ??
        {
          id: cell.method.id,
          title: cell.method.title,
          family: cell.task.family,
          fidelity: null,
          versions: [],
          taskIds: [],
          runIds: [],
        };
      m.title = cell.method.title; // the newest run names and labels it
      m.fidelity = row.fidelity;
      if (!m.versions.includes(cell.method.version)) m.versions.push(cell.method.version);
      if (!m.taskIds.includes(cell.task.id)) m.taskIds.push(cell.task.id);
      if (m.runIds.at(-1) !== run.runId) m.runIds.push(run.runId);
      methods.set(m.id, m);
      const tr = taskRuns.get(cell.task.id) ?? new Set();
      tr.add(run.runId);
      taskRuns.set(cell.task.id, tr);
    }
    runList.push({
      runId: run.runId,
      startedAt: run.startedAt,
      endedAt: run.endedAt,
      status: run.status,
      profile: run.profile,
      verified: run.verified,
      deviceId: device.id,
      cells: run.cells.length,
      failures: run.cells.filter((c) => c.status === "failed" || c.status === "timeout").length,
      families: [...families].sort(),
    });
  }

  const boards = new Map<string, Map<string, { verified: Board; all: Board }>>();
  const tasks = new Map<string, TaskSummary>();
  for (const [taskId, rows] of [...rowsByTask].sort((a, b) => a[0].localeCompare(b[0]))) {
    const byDevice = new Map<string, Row[]>();
    for (const r of rows) pushTo(byDevice, r.deviceId, r);
    const perDevice = new Map<string, { verified: Board; all: Board }>();
    const both = (list: Row[]) => ({
      verified: buildBoard(list.filter((r) => r.verified)),
      all: buildBoard(list),
    });
    perDevice.set(ALL_DEVICES, both(rows));
    for (const [deviceId, list] of byDevice) perDevice.set(deviceId, both(list));
    boards.set(taskId, perDevice);

    const lastVerified = rows.findLast((r) => r.verified) ?? null;
    const defaultDeviceId = lastVerified?.deviceId ?? null;
    const anyLabel = defaultDeviceId
      // "Best sparse" means methods that skipped work: not the baseline, nor dense peers.
      ? perDevice.get(defaultDeviceId)!.verified.rows.filter((r) =>
        r.status === "ok" && !r.isReference && (r.realizedDensity === null || r.realizedDensity < 1)
      )
      : [];
    // Nor, by default, a stand-in (its figures are the heuristic's) or an oracle (an upper bound).
    const candidates = anyLabel.filter((r) =>
      r.fidelity === null || !BEST_EXCLUDES.includes(r.fidelity.level)
    );
    const bestOf = (rows: Row[]) =>
      pick(rows.filter((r) => r.metric !== null), (a, b) => compareRows(a, b) < 0);
    const fastestOf = (rows: Row[]) =>
      pick(rows.filter((r) => r.speedup !== null), (a, b) => (a.speedup ?? 0) > (b.speedup ?? 0));
    // Banded families: "best" within each band.
    const bands = [
      ...new Set(anyLabel.flatMap((r) => r.densityBand === null ? [] : [r.densityBand])),
    ]
      .sort((a, b) => bandOrder(a) - bandOrder(b));
    const inBand = (list: Row[], band: string) => list.filter((r) => r.densityBand === band);
    const bestByBand: BandBest[] = bands.map((band) => ({
      band,
      bestQuality: bestOf(inBand(candidates, band)),
      fastest: fastestOf(inBand(candidates, band)),
      bestQualityAnyLabel: bestOf(inBand(anyLabel, band)),
      fastestAnyLabel: fastestOf(inBand(anyLabel, band)),
    }));
    const first = rows.at(-1)!;
    tasks.set(taskId, {
      id: taskId,
      family: first.family,
      version: "",
      metricName: first.metricName,
      higherIsBetter: first.higherIsBetter,
      runIds: [...(taskRuns.get(taskId) ?? [])],
      deviceIds: [...byDevice.keys()],
      methodIds: [...new Set(rows.map((r) => r.methodId))].sort(),
      defaultDeviceId,
      bestQuality: bestOf(candidates),
      fastest: fastestOf(candidates),
      bestExcludes: BEST_EXCLUDES,
      bestQualityAnyLabel: bestOf(anyLabel),
      fastestAnyLabel: fastestOf(anyLabel),
      bestByBand,
    });
  }
  // Task versions come from the cells; the newest run's wins.
  for (const run of ordered) {
    for (const cell of run.cells) tasks.get(cell.task.id)!.version = cell.task.version;
  }

  return {
    runs: new Map(ordered.map((r) => [r.runId, r])),
    runList: runList.reverse(),
    devices,
    tasks,
    methods: new Map([...methods].sort((a, b) => a[0].localeCompare(b[0]))),
    methodRows,
    boards,
  };
}
