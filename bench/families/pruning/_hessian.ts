// Dense linear algebra on a layer's input Hessian (symmetric positive definite, float64,
// row-major n × n): the Cholesky factor, the inverse through it, and the upper Cholesky factor of
// the inverse that second-order pruning (SparseGPT's OBS updates) works from.

/**
 * The lower Cholesky factor L of a symmetric positive definite matrix, A = L·Lᵀ. Only the lower
 * triangle of `a` is read.
 *
 * @param a the matrix, row-major n × n
 * @param n its order
 * @returns L, row-major n × n, zero above the diagonal
 * @throws {RangeError} when `a` does not hold n × n entries, or is not positive definite (a
 *   pivot ≤ 0 or not finite)
 * @example
 * ```ts
 * import { choleskyLower } from "./mod.ts";
 * import { assertEquals } from "../../../tests/assert.ts";
 * // [[4, 2], [2, 2]] = [[2, 0], [1, 1]] · [[2, 1], [0, 1]]
 * assertEquals([...choleskyLower(Float64Array.of(4, 2, 2, 2), 2)], [2, 0, 1, 1]);
 * ```
 */
export function choleskyLower(a: ArrayLike<number>, n: number): Float64Array {
  checkSquare(a, n, "factor");
  const l = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    const lj = j * n;
    let pivot = a[lj + j];
    for (let k = 0; k < j; k++) pivot -= l[lj + k] * l[lj + k];
    if (!(pivot > 0) || !Number.isFinite(pivot)) {
      throw new RangeError(
        `Cannot factor the matrix as it must be symmetric positive definite: pivot ${j} of ${n} is ${pivot}`,
      );
    }
    const d = Math.sqrt(pivot);
    l[lj + j] = d;
    for (let i = j + 1; i < n; i++) {
      const li = i * n;
      let s = a[li + j];
      for (let k = 0; k < j; k++) s -= l[li + k] * l[lj + k];
      l[li + j] = s / d;
    }
  }
  return l;
}

/**
 * The inverse of A from its lower Cholesky factor: A⁻¹ = L⁻ᵀ·L⁻¹ (what `cholesky_inverse`
 * computes).
 *
 * @param l the lower factor of A, as {@link choleskyLower} returns it
 * @param n its order
 * @returns A⁻¹, row-major n × n, symmetric
 * @throws {RangeError} when `l` does not hold n × n entries or has a zero on its diagonal
 * @example
 * ```ts
 * import { choleskyLower, inverseFromCholesky } from "./mod.ts";
 * import { assertEquals } from "../../../tests/assert.ts";
 * const inv = inverseFromCholesky(choleskyLower(Float64Array.of(4, 0, 0, 16), 2), 2);
 * assertEquals([...inv], [0.25, 0, 0, 0.0625]);
 * ```
 */
export function inverseFromCholesky(l: ArrayLike<number>, n: number): Float64Array {
  checkSquare(l, n, "invert");
  // M = L⁻¹ (lower), row by row: M[i, :] = (e_i − Σ_{k<i} L[i, k]·M[k, :]) / L[i, i].
  const m = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const mi = i * n, d = l[mi + i];
    if (d === 0) {
      throw new RangeError(
        `Cannot invert the factor as its diagonal must be non-zero: entry ${i} is 0`,
      );
    }
    m[mi + i] = 1;
    for (let k = 0; k < i; k++) {
      const c = l[mi + k];
      if (c === 0) continue;
      const mk = k * n;
      for (let j = 0; j <= k; j++) m[mi + j] -= c * m[mk + j];
    }
    for (let j = 0; j <= i; j++) m[mi + j] /= d;
  }
  // A⁻¹ = Mᵀ·M = Σ_k M[k, :]ᵀ·M[k, :], where row k of M is zero past column k.
  const inv = new Float64Array(n * n);
  for (let k = 0; k < n; k++) {
    const mk = k * n;
    for (let a = 0; a <= k; a++) {
      const c = m[mk + a];
      if (c === 0) continue;
      const ia = a * n;
      for (let b = 0; b <= a; b++) inv[ia + b] += c * m[mk + b];
    }
  }
  for (let a = 0; a < n; a++) for (let b = 0; b < a; b++) inv[b * n + a] = inv[a * n + b];
  return inv;
}

/**
 * The inverse of a symmetric positive definite matrix, through its Cholesky factor.
 *
 * @param a the matrix, row-major n × n
 * @param n its order
 * @returns A⁻¹, row-major n × n
 * @throws {RangeError} when `a` is not n × n or not positive definite
 * @example
 * ```ts
 * import { spdInverse } from "./mod.ts";
 * import { assertEquals } from "../../../tests/assert.ts";
 * assertEquals([...spdInverse(Float64Array.of(4, 0, 0, 16), 2)], [0.25, 0, 0, 0.0625]);
 * ```
 */
export function spdInverse(a: ArrayLike<number>, n: number): Float64Array {
  return inverseFromCholesky(choleskyLower(a, n), n);
}

/**
 * The upper Cholesky factor U of the inverse of a symmetric positive definite matrix:
 * A⁻¹ = Uᵀ·U, U zero below the diagonal. Row j of U, from the diagonal on, is what an OBS update
 * of column j spreads over the later columns once the earlier ones are fixed (SparseGPT's `Hinv`).
 *
 * @param a the matrix (e.g. a damped layer Hessian), row-major n × n
 * @param n its order
 * @returns U, row-major n × n
 * @throws {RangeError} when `a` is not n × n or not positive definite
 * @example
 * ```ts
 * import { upperCholeskyOfInverse } from "./mod.ts";
 * import { assertEquals } from "../../../tests/assert.ts";
 * // diag(4, 1)⁻¹ = diag(1/4, 1) = Uᵀ·U with U = diag(1/2, 1)
 * assertEquals([...upperCholeskyOfInverse(Float64Array.of(4, 0, 0, 1), 2)], [0.5, 0, 0, 1]);
 * ```
 */
export function upperCholeskyOfInverse(a: ArrayLike<number>, n: number): Float64Array {
  const lower = choleskyLower(spdInverse(a, n), n);
  const u = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) u[j * n + i] = lower[i * n + j];
  return u;
}

function checkSquare(a: ArrayLike<number>, n: number, verb: string): void {
  if (!Number.isInteger(n) || n < 0 || a.length !== n * n) {
    throw new RangeError(
      `Cannot ${verb} the matrix as it must hold n × n = ${n} × ${n} entries: got ${a.length}`,
    );
  }
}
