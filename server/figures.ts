// The figures a page shows of a cell (headline latency, main metric, speed-up), each with its
// 95% interval when the run file has one: the one place the views read the cell's schema.
import type { Cell } from "../bench/results/schema.ts";

/** A 95% interval [low, high]. */
export type Interval = [number, number];

/** A value and, when known, its 95% interval. */
export interface Figure {
  value: number;
  ci95: Interval | null;
}

/** The headline latency: kernel time when the GPU timed it, else wall time. */
export interface LatencyFigure extends Figure {
  source: "kernel" | "wall";
}

/**
 * The cell's headline p50 latency in ms with its interval.
 *
 * @param cell a cell of a run file
 * @returns the figure, or null when the cell was not timed
 */
export function latencyOf(cell: Cell): LatencyFigure | null {
  if (!cell.latency) return null;
  const summary = cell.latency.kernel ?? cell.latency.wall;
  return {
    value: summary.p50,
    ci95: summary.ci95,
    source: cell.latency.kernel ? "kernel" : "wall",
  };
}

/**
 * The cell's main metric with the interval the task reports as `<name>_ci95_low/high`.
 *
 * @param cell a cell of a run file
 * @returns the figure, or null when the metric is missing or not finite
 */
export function metricOf(cell: Cell): Figure | null {
  const name = cell.mainMetric.name;
  const value = cell.metrics[name];
  if (typeof value !== "number" || !Number.isFinite(value)) return null;
  const lo = cell.metrics[`${name}_ci95_low`];
  const hi = cell.metrics[`${name}_ci95_high`];
  return { value, ci95: typeof lo === "number" && typeof hi === "number" ? [lo, hi] : null };
}

/**
 * The cell's speed-up over its run's dense baseline (same case), with its interval.
 *
 * @param cell a cell of a run file
 * @returns the figure, or null when there is no speed-up
 */
export function speedupOf(cell: Cell): Figure | null {
  return cell.speedup === null || !Number.isFinite(cell.speedup)
    ? null
    : { value: cell.speedup, ci95: null };
}
