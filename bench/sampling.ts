// Adaptive, interleaved sampling of one case's cells: after the warm-up, every cell still short
// of a precise median is timed once per round, in rotating order, until the 95% interval of its
// median is within the target or a cap is reached. The baseline is timed in every round any
// other cell is, so each speed-up can pair samples of the same round.
import type { Sample, SampleInfo } from "./plugin.ts";
import { bootstrapInterval, median } from "./stats.ts";

/** When a cell has been timed enough. */
export interface SamplingPolicy {
  /** Untimed rounds first (at least one: the first sample also settles repetitions per submit). */
  warmup: number;
  /** Least timed samples of every cell. */
  minRuns: number;
  /** Most timed samples of a cell. */
  maxRuns: number;
  /** Stop once the median's 95% interval is within ± this share of the median (e.g. 0.03). */
  targetRelativeHalfWidth: number;
  /** Once the timed rounds of the case have taken this long, cells stop at `minRuns`. */
  budgetMs: number;
  /**
   * Work one timed GPU sample carries at least (dispatches are repeated within a submit until it
   * does), so the fixed cost of a submit stays a small share of it.
   */
  minSampleMs: number;
}

/** One cell taking part: how to take a sample, and whether it is the case's baseline. */
export interface Participant {
  readonly isReference: boolean;
  sample(info: SampleInfo): Promise<Sample>;
}

/** What sampling gathered for a participant that finished (a failing one is reported instead). */
export interface SampledSeries {
  samples: Sample[];
  /** The round each sample was taken in. */
  rounds: number[];
  /** The first (cold) sample's whole time, warm-up included. */
  firstRunMs: number | null;
  /** Whether the median's interval reached the target. */
  converged: boolean;
}

/** The figures a cell is judged by: kernel time where every sample has it, else wall time. */
export function headlineSeries(samples: readonly Sample[]): number[] {
  return samples.every((s) => s.kernelMs !== null)
    ? samples.map((s) => s.kernelMs!)
    : samples.map((s) => s.wallMs);
}

/**
 * The half-width of the median's 95% bootstrap interval relative to the median: the larger side,
 * so an interval skewed to one side is not called precise.
 */
export function relativeHalfWidth(values: readonly number[]): number {
  const mid = median(values);
  if (values.length < 2 || mid <= 0) return Infinity;
  const [lo, hi] = bootstrapInterval(values, median, { resamples: 1000 });
  return Math.max(mid - lo, hi - mid) / mid;
}

/**
 * Times `participants` interleaved under `policy`.
 *
 * @param participants the case's cells, set up and ready
 * @param options the policy, and `onFailure`, called (and awaited) when a participant's sample
 *   throws: it takes no further part
 * @returns the series of every participant that did not fail
 */
export async function sampleInterleaved<P extends Participant>(
  participants: readonly P[],
  options: { policy: SamplingPolicy; onFailure(participant: P, error: unknown): Promise<void> },
): Promise<Map<P, SampledSeries>> {
  const { policy } = options;
  const series = new Map<P, SampledSeries>();
  const done = new Set<P>();
  for (const p of participants) {
    series.set(p, { samples: [], rounds: [], firstRunMs: null, converged: false });
  }
  const take = async (p: P, round: number | null) => {
    try {
      const sample = await p.sample({ warmup: round === null });
      const s = series.get(p)!;
      if (s.firstRunMs === null) s.firstRunMs = sample.coldMs ?? sample.wallMs * sample.reps;
      if (round !== null) {
        s.samples.push(sample);
        s.rounds.push(round);
      }
    } catch (error) {
      series.delete(p);
      done.add(p);
      await options.onFailure(p, error);
    }
  };
  const live = () => participants.filter((p) => series.has(p) && !done.has(p));
  const rotated = (list: P[], by: number) => list.map((_, i) => list[(i + by) % list.length]);

  // Rotate who goes first, warm-up included, so no method always runs right after the heaviest.
  let turn = 0;
  for (let w = 0; w < Math.max(1, policy.warmup); w++) {
    for (const p of rotated(live(), turn++)) await take(p, null);
  }
  const start = performance.now();
  for (let round = 0; live().length > 0; round++) {
    for (const p of rotated(live(), turn++)) await take(p, round);
    const overBudget = performance.now() - start > policy.budgetMs;
    const enough = new Set<P>();
    for (const p of live()) {
      const s = series.get(p)!;
      const n = s.samples.length;
      s.converged = n >= 2 &&
        relativeHalfWidth(headlineSeries(s.samples)) <= policy.targetRelativeHalfWidth;
      if (n >= policy.maxRuns || (n >= policy.minRuns && (s.converged || overBudget))) {
        enough.add(p);
      }
    }
    // The baseline goes on while any other cell is timed, then stops by the same rule.
    const othersLeft = live().some((p) => !p.isReference && !enough.has(p));
    for (const p of enough) if (!p.isReference || !othersLeft) done.add(p);
  }
  return series;
}
