// Element-wise comparison of a kernel's output with its CPU reference, within a stated tolerance.

export const ATTENTION_TOLERANCE = { atol: 1e-4, rtol: 2e-3 };

/** A tolerance as published in result files. */
export function describeTolerance(t = ATTENTION_TOLERANCE): string {
  return `|gpu - cpu| <= ${t.atol} + ${t.rtol}·|cpu| for every element`;
}

/**
 * Compares `actual` with `expected` element by element.
 *
 * @returns the largest absolute error, whether every element is within tolerance, and whether
 *   `actual` held a NaN or an infinity (which never passes)
 */
export function compareWithin(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  t = ATTENTION_TOLERANCE,
): { maxAbsError: number; within: boolean; nonFinite: boolean } {
  if (actual.length !== expected.length) {
    throw new RangeError(
      `Cannot compare outputs of different lengths: ${actual.length} vs ${expected.length}`,
    );
  }
  let maxAbsError = 0;
  let within = true;
  let nonFinite = false;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i];
    if (!Number.isFinite(a)) {
      nonFinite = true;
      within = false;
      continue;
    }
    const err = Math.abs(a - expected[i]);
    if (err > maxAbsError) maxAbsError = err;
    if (err > t.atol + t.rtol * Math.abs(expected[i])) within = false;
  }
  return { maxAbsError, within, nonFinite };
}

/** Whether every element is finite. */
export function allFinite(values: ArrayLike<number>): boolean {
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i])) return false;
  return true;
}
