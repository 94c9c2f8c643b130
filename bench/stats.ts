// Summary statistics shared by every timed figure the harness publishes.

/** The summary of one series of timed samples, in milliseconds. */
export interface Summary {
  n: number;
  min: number;
  max: number;
  p50: number;
  p95: number;
  mean: number;
  /** Sample standard deviation (n - 1 in the denominator); 0 when n is 1. */
  sd: number;
  /** 95% confidence interval of the mean, from Student's t with n - 1 degrees of freedom. */
  ci95: [number, number];
}

// Two-sided 97.5% quantiles of Student's t for 1..30 degrees of freedom.
const T_975 = [
  12.706,
  4.303,
  3.182,
  2.776,
  2.571,
  2.447,
  2.365,
  2.306,
  2.262,
  2.228,
  2.201,
  2.179,
  2.16,
  2.145,
  2.131,
  2.12,
  2.11,
  2.101,
  2.093,
  2.086,
  2.08,
  2.074,
  2.069,
  2.064,
  2.06,
  2.056,
  2.052,
  2.048,
  2.045,
  2.042,
];

/**
 * The 0.975 quantile of Student's t distribution.
 *
 * @param df degrees of freedom, at least 1
 * @returns the critical value for a two-sided 95% interval
 */
export function tCritical95(df: number): number {
  if (!Number.isInteger(df) || df < 1) {
    throw new RangeError(
      `Cannot look up t as 'df' must be a positive integer: current value is ${df}`,
    );
  }
  if (df <= T_975.length) return T_975[df - 1];
  // Cornish–Fisher expansion around the normal quantile; within 1e-3 of the table beyond df 30.
  const z = 1.959964;
  return z + (z ** 3 + z) / (4 * df) + (5 * z ** 5 + 16 * z ** 3 + 3 * z) / (96 * df * df);
}

/**
 * A percentile by linear interpolation between closest ranks (the "type 7" definition used by
 * numpy and R).
 *
 * @param sorted values in ascending order, at least one
 * @param p the percentile, in [0, 100]
 */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) throw new RangeError("Cannot take a percentile of no samples");
  const rank = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo);
}

/**
 * Summarizes a series of samples.
 *
 * @param samples finite values, at least one
 * @returns n, min, max, p50, p95, mean, sd and the 95% CI of the mean
 * @throws {RangeError} when there are no samples or one is not finite
 * @example
 * ```ts
 * summarize([1, 2, 3]).mean; // 2
 * ```
 */
export function summarize(samples: readonly number[]): Summary {
  if (samples.length === 0) throw new RangeError("Cannot summarize an empty series");
  for (const s of samples) {
    if (!Number.isFinite(s)) throw new RangeError(`Cannot summarize a series holding ${s}`);
  }
  const sorted = [...samples].sort((a, b) => a - b);
  const n = sorted.length;
  const mean = sorted.reduce((a, b) => a + b, 0) / n;
  const sd = n > 1 ? Math.sqrt(sorted.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : 0;
  const half = n > 1 ? tCritical95(n - 1) * sd / Math.sqrt(n) : 0;
  return {
    n,
    min: sorted[0],
    max: sorted[n - 1],
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    mean,
    sd,
    ci95: [mean - half, mean + half],
  };
}
