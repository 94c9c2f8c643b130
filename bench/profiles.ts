// The three run profiles: how many warm-up and timed runs, and which parameter values they sweep.
import type { Profile } from "./metadata.ts";

export interface ProfileSettings {
  description: string;
  warmup: number;
  runs: number;
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
    warmup: 1,
    runs: 3,
    params: "default",
    timeLimitMs: 60_000,
  },
  quick: {
    description:
      "the default suite: a few shapes per task, each method's parameter sweep on the first",
    // Few runs and one swept case per task (see TaskMeta.quickSweep), so a family stays within
    // minutes on 2 cores; `full` has 20 runs.
    warmup: 1,
    runs: 3,
    params: "sweep-first-case",
    timeLimitMs: 60_000,
  },
  full: {
    description: "every shape up to the largest, for nightly runs",
    warmup: 3,
    runs: 20,
    params: "sweep",
    // Dense prefill at seq 16384 takes over a minute a run on a 2-core software adapter.
    timeLimitMs: 900_000,
  },
};

export const DEFAULT_PROFILE: Profile = "quick";
