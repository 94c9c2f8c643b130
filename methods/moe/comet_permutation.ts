// COMET's permutation-based local search: a learned permutation of the gate's experts, relaxed
// during the search to a doubly stochastic matrix by Gumbel-Sinkhorn (Mena et al., 2018), with its
// backward through every Sinkhorn iteration.

/** Sinkhorn's alternations (row then column normalization, in the log domain). */
export const SINKHORN_ITERATIONS = 20;

/** Row-wise (rows = true) or column-wise log-sum-exp normalization of an n×n log matrix, in place. */
function normalize(m: Float64Array, n: number, rows: boolean): void {
  for (let a = 0; a < n; a++) {
    let max = -Infinity;
    for (let b = 0; b < n; b++) max = Math.max(max, m[rows ? a * n + b : b * n + a]);
    let sum = 0;
    for (let b = 0; b < n; b++) sum += Math.exp(m[rows ? a * n + b : b * n + a] - max);
    const lse = max + Math.log(sum);
    for (let b = 0; b < n; b++) m[rows ? a * n + b : b * n + a] -= lse;
  }
}

/** A Sinkhorn pass: the doubly stochastic matrix and each iteration's log matrix for backward. */
export interface SinkhornPass {
  n: number;
  /** exp of the last log matrix: rows and columns sum to 1. */
  matrix: Float64Array;
  /** The log matrix before each normalization, in order (row, column, row, …). */
  steps: Float64Array[];
}

/**
 * Sinkhorn(log matrix): alternately normalizes rows and columns of exp(logits) in the log domain.
 *
 * @param logits an n×n log matrix (already divided by the temperature, noise added)
 * @example
 * ```ts
 * import { sinkhorn } from "./comet_permutation.ts";
 * const { matrix } = sinkhorn(Float64Array.from([0, 1, 2, 0]), 2);
 * Math.abs(matrix[0] + matrix[1] - 1) < 1e-6; // true
 * ```
 */
export function sinkhorn(
  logits: Float64Array,
  n: number,
  iterations = SINKHORN_ITERATIONS,
): SinkhornPass {
  const m = logits.slice(), steps: Float64Array[] = [];
  for (let it = 0; it < iterations; it++) {
    for (const rows of [true, false]) {
      steps.push(m.slice());
      normalize(m, n, rows);
    }
  }
  return { n, matrix: m.map(Math.exp), steps };
}

/** ∂loss/∂logits of {@link sinkhorn} given ∂loss/∂matrix. */
export function sinkhornBackward(pass: SinkhornPass, dMatrix: Float64Array): Float64Array {
  const { n, matrix, steps } = pass;
  // Through exp: ∂/∂log = ∂/∂matrix ⊙ matrix.
  const d = dMatrix.map((v, i) => v * matrix[i]);
  for (let step = steps.length - 1; step >= 0; step--) {
    const before = steps[step], rows = step % 2 === 0;
    // y = m − lse(m) along a line: ∂m = ∂y − softmax(m) · Σ ∂y along the line.
    for (let a = 0; a < n; a++) {
      let max = -Infinity, sumD = 0;
      for (let b = 0; b < n; b++) {
        const i = rows ? a * n + b : b * n + a;
        max = Math.max(max, before[i]);
        sumD += d[i];
      }
      let sum = 0;
      for (let b = 0; b < n; b++) sum += Math.exp(before[rows ? a * n + b : b * n + a] - max);
      for (let b = 0; b < n; b++) {
        const i = rows ? a * n + b : b * n + a;
        d[i] -= Math.exp(before[i] - max) / sum * sumD;
      }
    }
  }
  return d;
}
