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
  /** Timed samples behind the median. */
  samples: number;
  /**
   * Adaptive sampling hit its cap before the median's interval came within ±3%; null for files
   * of schema 1, which did not sample adaptively.
   */
  noisy: boolean | null;
}

/**
 * The cell's headline p50 latency in ms with the bootstrap interval of the median.
 *
 * @param cell a cell of a run file
 * @returns the figure, or null when the cell was not timed (any status but ok)
 */
export function latencyOf(cell: Cell): LatencyFigure | null {
  if (cell.status !== "ok") return null;
  const summary = cell.latency.kernel ?? cell.latency.wall;
  return {
    value: summary.p50,
    ci95: summary.p50Ci95,
    source: cell.latency.kernel ? "kernel" : "wall",
    samples: summary.n,
    noisy: cell.latency.noisy,
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
 * The cell's speed-up over its run's dense baseline (same case), with its paired-bootstrap
 * interval (null for files of schema 1, which kept no samples to pair).
 *
 * @param cell a cell of a run file
 * @returns the figure, or null when there is no speed-up
 */
export function speedupOf(cell: Cell): Figure | null {
  return cell.speedup ? { value: cell.speedup.value, ci95: cell.speedup.ci95 } : null;
}
