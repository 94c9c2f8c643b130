// The three run profiles: how each cell is sampled, and which parameter values they sweep.
import type { Profile } from "./metadata.ts";
import type { SamplingPolicy } from "./sampling.ts";

export interface ProfileSettings {
  description: string;
  /**
   * Adaptive sampling: at least `minRuns` timed samples, then on until the median's 95% interval
   * is within ±`targetRelativeHalfWidth` or `maxRuns` / the case's `budgetMs` is reached.
   */
  sampling: SamplingPolicy;
  /**
   * "default": each method runs with its defaults only; "sweep": over each parameter's sweep on
   * every case; "sweep-first-case": over the sweep on each task's first case, with defaults on
   * the others (budget curves where they are cheapest, every task still covered).
   */
  params: "default" | "sweep" | "sweep-first-case";
  /** How long any one step of a cell may take before it is a timeout. */
  timeLimitMs: number;
}

export const PROFILE_SETTINGS: Readonly<Record<Profile, ProfileSettings>> = {
  smoke: {
    description: "one small case per task, default parameters, to see that everything runs",
    // Five samples, no more: smoke shows that everything runs, its latencies are not for comparing.
    // and 5 ms samples: the fixed ~11 ms submit cost then weighs more than in quick and full.
    sampling: {
      warmup: 1,
      minRuns: 5,
      maxRuns: 5,
      targetRelativeHalfWidth: 0.03,
      budgetMs: 0,
      minSampleMs: 5,
    },
    params: "default",
    timeLimitMs: 60_000,
  },
  quick: {
    description:
      "the default suite: a few shapes per task, each method's parameter sweep on the first",
    // One swept case per task (see TaskMeta.quickSweep) and a case budget of 20 s of timed
    // rounds, so a family stays within minutes on 2 cores.
    sampling: {
      warmup: 1,
      minRuns: 5,
      maxRuns: 30,
      targetRelativeHalfWidth: 0.03,
      budgetMs: 20_000,
      minSampleMs: 40,
    },
    params: "sweep-first-case",
    timeLimitMs: 60_000,
  },
  full: {
    description: "every shape up to the largest, for nightly runs",
    sampling: {
      warmup: 3,
      minRuns: 10,
      maxRuns: 100,
      targetRelativeHalfWidth: 0.03,
      budgetMs: 300_000,
      minSampleMs: 40,
    },
    params: "sweep",
    // Dense prefill at seq 16384 takes over a minute a run on a 2-core software adapter.
    timeLimitMs: 900_000,
  },
};

export const DEFAULT_PROFILE: Profile = "quick";
