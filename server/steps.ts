// Step detection over a series of nights (one method × task × case × device), in the spirit of
// asv's: a change is reported only when it persists and exceeds the series' own noise, so a noisy
// cell or one bad night does not cry wolf. The noise is measured, not assumed: the spread of the
// nights before the candidate step (a robust standard deviation of their medians) and each
// night's own interval, whichever is larger.
import { median } from "../bench/stats.ts";

/** One night of a series: the headline p50 and the half-width of its 95% interval. */
export interface NightPoint {
  runId: string;
  value: number;
  /** Half-width of the night's own interval (0 when unknown). */
  halfWidth: number;
}

/** A detected step: the first night of the new level. */
export interface Step {
  /** Index into the series of the first night at the new level. */
  at: number;
  runId: string;
  before: number;
  after: number;
  /** after / before. */
  ratio: number;
}

/** How persistent and how large a change must be. */
export interface StepOptions {
  /** Nights the new level must hold (default 2). */
  persist?: number;
  /** Nights of history a step is judged against, at least 3 (default 10). */
  window?: number;
  /** Noise multiples a change must exceed (default 4). */
  k?: number;
  /** Smallest relative change ever reported (default 0.05). */
  minRelative?: number;
}

/**
 * Finds the steps of a series, oldest first. After a step the history restarts at it.
 *
 * @param series the nights, oldest first
 * @returns each step's first night, with the levels before and after
 */
export function detectSteps(series: readonly NightPoint[], options: StepOptions = {}): Step[] {
  const persist = options.persist ?? 2;
  const window = Math.max(3, options.window ?? 10);
  const k = options.k ?? 4;
  const minRelative = options.minRelative ?? 0.05;
  const steps: Step[] = [];
  let start = 0;
  for (let t = start + 3; t + persist <= series.length; t++) {
    const history = series.slice(Math.max(start, t - window), t);
    if (history.length < 3) continue;
    const level = median(history.map((p) => p.value));
    const mad = median(history.map((p) => Math.abs(p.value - level)));
    const within = median(history.map((p) => p.halfWidth));
    // 1.4826·MAD estimates a standard deviation; the within-night half-width is ≈ 2 of them.
    const noise = Math.max(1.4826 * mad, within / 2);
    const bound = Math.max(k * noise, minRelative * Math.abs(level));
    const next = series.slice(t, t + persist);
    const up = next.every((p) => p.value > level + bound);
    const down = next.every((p) => p.value < level - bound);
    if (!up && !down) continue;
    const after = median(next.map((p) => p.value));
    steps.push({ at: t, runId: series[t].runId, before: level, after, ratio: after / level });
    start = t;
    t = start + 2; // the loop's t++ makes the next candidate start + 3
  }
  return steps;
}
