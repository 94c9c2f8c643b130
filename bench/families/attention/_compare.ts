// Element-wise comparison of a kernel's output with its CPU reference, within a stated tolerance.

/** The tolerance every attention kernel is held to against its float64 CPU reference. */
export const ATTENTION_TOLERANCE = { atol: 1e-4, rtol: 2e-3 };

/**
 * The largest share of a comparison's rows, in any head and in the whole input, that may match
 * none of their candidate selections and be excused as decided by a near-tie (see
 * `AttentionMethod.ambiguousRow`); more fails the check, so a method cannot excuse itself out of
 * it. A near-tie the gate can resolve (`tieAlternatives`) is not excused but checked.
 */
export const MAX_EXCUSED_SHARE = 0.05;

/** A tolerance as published in result files. */
export function describeTolerance(t = ATTENTION_TOLERANCE): string {
  return `|gpu - cpu| <= ${t.atol} + ${t.rtol}·|cpu| for every element, against the CPU reference's selection or, on a near-tie, the selection with the tie broken the other way; near-tie rows matching neither excused, at most ${
    MAX_EXCUSED_SHARE * 100
  }% of the rows of any head and of each input; no rows compared fails`;
}

/** Where {@link compareWithin} first found an element out of tolerance. */
export interface FirstMismatch {
  index: number;
  actual: number;
  expected: number;
}

/**
 * Compares `actual` with `expected` element by element.
 *
 * @returns the largest absolute error, whether every element is within tolerance, whether
 *   `actual` held a NaN or an infinity (which never passes), and the first element that failed
 * @throws {RangeError} when the two differ in length
 * @example
 * ```ts
 * import { compareWithin } from "./mod.ts";
 * compareWithin([1, 2.1], [1, 2]).within; // false
 * ```
 */
export function compareWithin(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  t = ATTENTION_TOLERANCE,
): { maxAbsError: number; within: boolean; nonFinite: boolean; first?: FirstMismatch } {
  if (actual.length !== expected.length) {
    throw new RangeError(
      `Cannot compare outputs of different lengths: ${actual.length} vs ${expected.length}`,
    );
  }
  let maxAbsError = 0;
  let within = true;
  let nonFinite = false;
  let first: FirstMismatch | undefined;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i];
    if (!Number.isFinite(a)) {
      nonFinite = true;
      within = false;
      first ??= { index: i, actual: a, expected: expected[i] };
      continue;
    }
    const err = Math.abs(a - expected[i]);
    if (err > maxAbsError) maxAbsError = err;
    if (err > t.atol + t.rtol * Math.abs(expected[i])) {
      within = false;
      first ??= { index: i, actual: a, expected: expected[i] };
    }
  }
  return { maxAbsError, within, nonFinite, ...(first ? { first } : {}) };
}

/** Whether every element is finite. */
export function allFinite(values: ArrayLike<number>): boolean {
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i])) return false;
  return true;
}
