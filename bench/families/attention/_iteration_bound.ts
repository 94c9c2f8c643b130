// llvmpipe (Mesa's software adapter) ends a shader invocation's loops once they have run 65,535
// iterations in all, summed over every loop the invocation enters, nested or not (a loop costs
// its trip count plus one for its exit test each time it is entered), and says nothing: the
// output is silently truncated. Each attention kernel's setup states the longest
// loop count one invocation of its shaders reaches for the shape and parameters at hand, so a
// case too large fails loudly instead of returning a wrong answer.

/** The loop iterations llvmpipe runs per shader invocation before it stops them (all loops). */
export const LOOP_LIMIT = 65_535;

/**
 * Loops with a constant trip count of at most this many are unrolled by Mesa's shader compiler
 * and count nothing: the default of {@link laneLoop} for loops not measured one by one. The
 * limit falls as a loop's body grows; every lane loop of these kernels measured unrolls at 16
 * lanes (head dim 64), while heavier ones (DHSA's cosine, Quest's bound) no longer do at 25
 * (head dim 100).
 */
export const UNROLLED_TRIP_LIMIT = 16;

/** Lanes up to which `key_dot`'s and `stored_key_dot`'s loops unroll (measured: 32, head dim 128). */
export const KEY_DOT_UNROLLED = 32;

/** Lanes up to which `softmax_add`'s loop unrolls (measured: 29, head dim 116). */
export const SOFTMAX_ADD_UNROLLED = 29;

/**
 * Iterations one loop over a head-dim row's vec4 lanes costs: none where the compiler unrolls it,
 * every lane and the exit test otherwise.
 *
 * @param headDim the head dimension (lanes = ⌈headDim / 4⌉)
 * @param unrolledUpTo lanes up to which this loop unrolls (default {@link UNROLLED_TRIP_LIMIT})
 * @returns the loop iterations the limit counts
 * @example
 * ```ts
 * import { laneLoop } from "./mod.ts";
 * laneLoop(64); // 0
 * laneLoop(100); // 26
 * laneLoop(100, 28); // 0: a loop measured to unroll up to 28 lanes
 * ```
 */
export function laneLoop(headDim: number, unrolledUpTo = UNROLLED_TRIP_LIMIT): number {
  const lanes = Math.ceil(headDim / 4);
  return lanes <= unrolledUpTo ? 0 : lanes + 1;
}

/**
 * Iterations one key costs a loop that scores it and folds it into an online softmax
 * (`key_dot` + `softmax_add`, as the attend passes do): the key loop's own iteration plus both
 * lane loops.
 *
 * @param headDim the head dimension
 * @returns iterations per attended key
 */
export function attendKeyIterations(headDim: number): number {
  return 1 + laneLoop(headDim, KEY_DOT_UNROLLED) + laneLoop(headDim, SOFTMAX_ADD_UNROLLED);
}

/**
 * Throws unless one invocation's worst-case loop count fits llvmpipe's limit.
 *
 * @param kernel the kernel (or pass) whose invocation loops, as its error should name it
 * @param iterations the most loop iterations, all loops together, one invocation runs for the
 *   shape and parameters being set up
 * @throws {RangeError} naming the kernel, its count and the limit, when the count exceeds
 *   {@link LOOP_LIMIT}
 * @example
 * ```ts
 * import { assertIterationBound } from "./mod.ts";
 * assertIterationBound("banded-attention", 16_384); // fits
 * ```
 */
export function assertIterationBound(kernel: string, iterations: number): void {
  if (!(iterations <= LOOP_LIMIT)) {
    throw new RangeError(
      `Cannot run '${kernel}' at this size as one shader invocation would loop ${
        Math.ceil(iterations).toLocaleString("en-US")
      } times: llvmpipe stops an invocation's loops after ${
        LOOP_LIMIT.toLocaleString("en-US")
      } iterations in all and returns a truncated output; split the pass or use a smaller case`,
    );
  }
}

/**
 * {@link assertIterationBound} for each pass of a kernel.
 *
 * @param bounds per pass (as its error should name it), the most loop iterations one invocation
 *   of it runs
 * @throws {RangeError} at the first pass whose count exceeds {@link LOOP_LIMIT}
 * @example
 * ```ts
 * import { assertIterationBounds } from "./mod.ts";
 * assertIterationBounds({ "quest-summary": 1_105, "quest-scores": 129 }); // fits
 * ```
 */
export function assertIterationBounds(bounds: Readonly<Record<string, number>>): void {
  for (const [pass, iterations] of Object.entries(bounds)) assertIterationBound(pass, iterations);
}
