// Wall-clock samples of a CPU kernel that may take a microsecond: the kernel is repeated within
// a sample until the sample carries the run's minimum work, as TimedSubmit does on the GPU.
import type { Sample } from "./plugin.ts";

/** Most repetitions in one sample (a 100×300 product at 1% takes about a microsecond). */
export const MAX_WALL_REPS = 1 << 16;

/**
 * Times `run` by wall clock. The first sample runs it once untimed (its time is `coldMs`), then
 * repeatedly, untimed, for at least `targetSampleMs` (the JIT settles, and the time per call
 * sets the repetitions), then takes the sample; every sample lasts about `targetSampleMs` or
 * one call, whichever is longer.
 *
 * @param run one unit of work (awaited when it returns a promise)
 * @param options `targetSampleMs`: work a sample carries at least (the run's `minSampleMs`)
 * @returns the sampler
 * @throws {RangeError} when targetSampleMs is not a positive number
 * @example
 * ```ts
 * import { assert } from "../tests/assert.ts";
 * import { wallTimer } from "./wall_timer.ts";
 * let calls = 0;
 * const timer = wallTimer(() => void calls++, { targetSampleMs: 1 });
 * await timer.sample();
 * const before = calls;
 * const sample = await timer.sample();
 * assert(sample.reps > 1 && calls === before + sample.reps);
 * ```
 */
export function wallTimer(
  run: () => void | Promise<void>,
  options: { targetSampleMs: number },
): { sample(): Promise<Sample> } {
  const target = options.targetSampleMs;
  if (!(target > 0)) {
    throw new RangeError(
      `Cannot time the kernel as 'targetSampleMs' must be a positive number: got ${target}`,
    );
  }
  // A synchronous kernel is not awaited: a microtask per repetition would be timed with it.
  const repeat = async (count: number) => {
    for (let r = 0; r < count; r++) {
      const pending = run();
      if (pending) await pending;
    }
  };
  let reps = 0;
  return {
    async sample() {
      let coldMs: number | undefined;
      if (reps === 0) {
        let start = performance.now();
        await repeat(1);
        coldMs = performance.now() - start;
        let calls = 0, elapsed = 0;
        start = performance.now();
        while (elapsed < target && calls < MAX_WALL_REPS) {
          await repeat(Math.max(1, calls));
          calls += Math.max(1, calls);
          elapsed = performance.now() - start;
        }
        reps = Math.max(1, Math.min(MAX_WALL_REPS, Math.ceil(target / (elapsed / calls))));
      }
      const start = performance.now();
      await repeat(reps);
      const wallMs = performance.now() - start;
      return {
        wallMs: wallMs / reps,
        kernelMs: null,
        reps,
        ...(coldMs === undefined ? {} : { coldMs }),
      };
    },
  };
}
