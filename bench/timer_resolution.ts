// How fine the clocks are: a timed sample must span many clock steps, or its figure is mostly
// rounding (browsers quantize GPU timestamps to ~0.1 ms; some runtimes coarsen performance.now).

/**
 * The least positive difference of consecutive `performance.now()` readings, in ms.
 *
 * @param readings how many readings to take (default 20,000: about a millisecond)
 * @returns the wall clock's step
 * @example
 * ```ts
 * import { wallClockResolutionMs } from "./timer_resolution.ts";
 * import { assert } from "../tests/assert.ts";
 * assert(wallClockResolutionMs() > 0);
 * ```
 */
export function wallClockResolutionMs(readings = 20_000): number {
  let least = Infinity;
  let previous = performance.now();
  for (let i = 0; i < readings; i++) {
    const now = performance.now();
    if (now > previous && now - previous < least) least = now - previous;
    previous = now;
  }
  // A clock that never moved within the loop is at least as coarse as the whole loop.
  return Number.isFinite(least) ? least : Math.max(performance.now() - previous, 1);
}

/**
 * A timed sample spans at least this many steps of its clock: TimedSubmit repeats dispatches
 * until it does, and a cell whose shortest sample still spans fewer is flagged noisy.
 */
export const MIN_SAMPLE_STEPS = 100;

function gcd(a: bigint, b: bigint): bigint {
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
}

/**
 * The greatest common step of raw timestamp deltas (integer ticks, e.g. nanoseconds): a clock
 * quantized to q ticks only ever yields multiples of q. Zero deltas carry no step and are ignored.
 *
 * @param deltas raw differences of two timestamps, in ticks
 * @returns the step in ticks, or null with fewer than two non-zero deltas (one delta is its own
 *   "step" and says nothing)
 * @example
 * ```ts
 * import { commonTickStep } from "./timer_resolution.ts";
 * import { assertEquals } from "../tests/assert.ts";
 * // A clock quantized to 100 µs (in ns ticks), as Chrome's timestamp queries are.
 * assertEquals(commonTickStep([300_000n, 500_000n, 1_200_000n]), 100_000n);
 * ```
 */
export function commonTickStep(deltas: readonly bigint[]): bigint | null {
  const positive = deltas.filter((d) => d > 0n);
  if (positive.length < 2) return null;
  return positive.reduce(gcd);
}
