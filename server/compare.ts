// Two runs side by side, cell by cell: a change counts only when the 95% intervals of the two
// figures do not overlap. Latency is compared only on one device; across devices the speed-ups
// over each run's own dense baseline are compared instead, as they do not carry the machine.
import type { Fidelity } from "../bench/metadata.ts";
import type { Cell, RunFile } from "../bench/results/schema.ts";
import { type Device, deviceOf } from "./devices.ts";
import { type Figure, type LatencyFigure, latencyOf, metricOf, speedupOf } from "./figures.ts";

/**
 * What happened to a figure between run a and run b. `incomparable`: latencies of different
 * devices; `no-interval`: the values differ but one has no interval to judge the change by.
 */
export type Verdict =
  | "improvement"
  | "regression"
  | "unchanged"
  | "missing"
  | "incomparable"
  | "no-interval";

/** The figures of one side of a matched cell. */
export interface Side {
  status: Cell["status"];
  metric: Figure | null;
  /** Headline p50 latency in ms, with its sample count and noisy flag. */
  latency: LatencyFigure | null;
  speedup: Figure | null;
}

/** One matched cell. */
export interface ComparedCell {
  key: string;
  taskId: string;
  methodTitle: string;
  methodId: string;
  /** The method's label in the newer run that has one, else the one given for older files. */
  fidelity: Fidelity | null;
  fidelityFrom: "run" | "catalog" | null;
  caseText: string;
  paramsText: string;
  a: Side | null;
  b: Side | null;
  latency: Verdict;
  speedup: Verdict;
  metric: Verdict;
  /** b's p50 over a's, minus one; null across devices, where it means nothing. */
  latencyChange: number | null;
}

/** Run a against run b. */
export interface Comparison {
  a: string;
  b: string;
  deviceA: Device;
  deviceB: Device;
  sameDevice: boolean;
  /** Figures judged worse / better beyond their intervals, over all cells. */
  regressions: number;
  improvements: number;
  cells: ComparedCell[];
}

/** Compares two intervals where lower is better. */
function lowerBetter(a: [number, number], b: [number, number]): Verdict {
  if (b[0] > a[1]) return "regression";
  if (b[1] < a[0]) return "improvement";
  return "unchanged";
}

/**
 * Judges a change of a figure by its intervals.
 *
 * @param exact whether a value without an interval is exact (a deterministic metric) rather
 *   than a measurement whose change cannot be judged without one
 */
function judge(
  a: Figure | null,
  b: Figure | null,
  higherIsBetter: boolean,
  exact: boolean,
): Verdict {
  if (!a || !b) return "missing";
  if ((!a.ci95 || !b.ci95) && !exact) {
    return Math.abs(a.value - b.value) <= 1e-9 * Math.abs(a.value) ? "unchanged" : "no-interval";
  }
  const ia = a.ci95 ?? [a.value, a.value];
  const ib = b.ci95 ?? [b.value, b.value];
  const flip = (i: [number, number]): [number, number] => higherIsBetter ? [-i[1], -i[0]] : i;
  return lowerBetter(flip(ia), flip(ib));
}

function side(c: Cell | null): Side | null {
  if (!c) return null;
  const ok = c.status === "ok";
  return {
    status: c.status,
    metric: ok ? metricOf(c) : null,
    latency: ok ? latencyOf(c) : null,
    speedup: ok ? speedupOf(c) : null,
  };
}

function text(values: Record<string, unknown>): string {
  return Object.keys(values).sort().map((k) => `${k}=${values[k]}`).join(", ");
}

/**
 * Matches the cells of two runs by their key and judges main metric, speed-up and, on one
 * device, latency.
 *
 * @param a the older run
 * @param b the newer run
 * @param labels labels by method id for cells of files written before methods declared one
 * @returns the devices, the counts, and one entry per key in either run (a's order, then b's)
 */
export function compareRuns(
  a: RunFile,
  b: RunFile,
  labels: ReadonlyMap<string, Fidelity> = new Map(),
): Comparison {
  const deviceA = deviceOf(a);
  const deviceB = deviceOf(b);
  const sameDevice = deviceA.id === deviceB.id;
  const inA = new Map(a.cells.map((c) => [c.key, c]));
  const inB = new Map(b.cells.map((c) => [c.key, c]));
  const keys = [...new Set([...inA.keys(), ...inB.keys()])];
  const cells = keys.map((key): ComparedCell => {
    const ca = inA.get(key) ?? null;
    const cb = inB.get(key) ?? null;
    const any = (ca ?? cb)!;
    const sa = side(ca);
    const sb = side(cb);
    const declared = cb?.method.fidelity ?? ca?.method.fidelity;
    const fallback = declared ? undefined : labels.get(any.method.id);
    const la = sa?.latency ?? null;
    const lb = sb?.latency ?? null;
    return {
      key,
      taskId: any.task.id,
      methodId: any.method.id,
      methodTitle: any.method.title,
      fidelity: declared ?? fallback ?? null,
      fidelityFrom: declared ? "run" : fallback ? "catalog" : null,
      caseText: text(any.task.case),
      paramsText: text(any.method.params),
      a: sa,
      b: sb,
      latency: !la || !lb ? "missing" : sameDevice ? judge(la, lb, false, false) : "incomparable",
      speedup: judge(sa?.speedup ?? null, sb?.speedup ?? null, true, false),
      metric: judge(sa?.metric ?? null, sb?.metric ?? null, any.mainMetric.higherIsBetter, true),
      latencyChange: la && lb && sameDevice ? lb.value / la.value - 1 : null,
    };
  });
  const count = (v: Verdict) =>
    cells.reduce((n, c) => n + [c.latency, c.speedup, c.metric].filter((x) => x === v).length, 0);
  return {
    a: a.runId,
    b: b.runId,
    deviceA,
    deviceB,
    sameDevice,
    regressions: count("regression"),
    improvements: count("improvement"),
    cells,
  };
}
