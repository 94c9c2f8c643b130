// Dense factorization on the CPU in float64 for methods that replace a weight by stored factors
// (truncated SVD, CoSpaDi's dictionary, R-Sparse's low-rank part): a deterministic symmetric
// eigendecomposition, a truncated SVD through the smaller Gram side, the whitening of a layer's
// weights by its calibration inputs' Gram, and the forward-order loop that factorizes every layer.
import { collectInputGram } from "../../nn/hooks.ts";
import { choleskyLower } from "./_hessian.ts";
import type { Calibration, FactorizedLayer, PrunableModel } from "./_interface.ts";

/** The compressions a factorizing method may be asked for: shares of the parameters removed. */
export const COMPRESSIONS = ["20%", "30%", "40%", "50%"] as const;

/**
 * The `compression` parameter spec of a factorizing method (truncated SVD, CoSpaDi): the share
 * of every prunable layer's parameters its factors do not store; all four are swept, so methods
 * compare at equal stored parameters.
 */
export const COMPRESSION_PARAM = {
  type: "enum" as const,
  description:
    "share of every prunable layer's parameters removed: the factors store the rest (20% keeps 80%)",
  values: [...COMPRESSIONS],
  default: "30%",
  sweep: [...COMPRESSIONS],
};

/**
 * The factorized target a `compression` parameter value names.
 *
 * @param text e.g. "30%"
 * @returns the target, compression as a fraction
 * @throws {RangeError} for text that is not a percentage in [0, 100)
 * @example
 * ```ts
 * import { parseCompression } from "./mod.ts";
 * import { assertEquals } from "../../../tests/assert.ts";
 * assertEquals(parseCompression("30%"), { pattern: "factorized", compression: 0.3 });
 * ```
 */
export function parseCompression(text: string): { pattern: "factorized"; compression: number } {
  const percent = text.match(/^(\d+(?:\.\d+)?)%$/);
  const compression = percent ? Number(percent[1]) / 100 : NaN;
  if (!(compression >= 0 && compression < 1)) {
    throw new RangeError(
      `Cannot read the compression '${text}': expected a percentage in [0, 100) such as '30%'`,
    );
  }
  return { pattern: "factorized", compression };
}

/** The eigendecomposition of a symmetric matrix: A = Σ_j values[j]·v_j·v_jᵀ. */
export interface SymmetricEigen {
  /** Eigenvalues, largest first. */
  values: Float64Array;
  /**
   * The orthonormal eigenvectors as ROWS, row-major [n × n]: `vectors[j * n + i]` is component i
   * of the eigenvector of `values[j]`. Each vector's largest-magnitude component (the first of
   * equal ones) is positive, so the result is the same on every machine.
   */
  vectors: Float64Array;
}

/** Sweeps of the QL iteration allowed per eigenvalue before giving up (LAPACK allows 30). */
const QL_MAX_ITERATIONS = 60;

/**
 * The eigenvalues and eigenvectors of a real symmetric matrix: Householder reduction to
 * tridiagonal form, then the implicit QL iteration with Wilkinson shifts (the EISPACK tred2/tql2
 * pair), in float64, about 4n³ operations with vectors. Deterministic: the same input gives the
 * same bits; eigenvalues are sorted largest first and every vector's sign is fixed.
 *
 * @param a the matrix, row-major n × n; only symmetric input is meaningful (the whole matrix is
 *   read, so pass an exactly symmetric one)
 * @param n its order
 * @returns the eigenvalues (descending) and eigenvectors (as rows)
 * @throws {RangeError} when `a` does not hold n × n finite entries, or the iteration does not
 *   converge
 * @example
 * ```ts
 * import { symmetricEigen } from "./mod.ts";
 * import { assertEquals } from "../../../tests/assert.ts";
 * // [[2, 1], [1, 2]] has eigenvalues 3 (along [1, 1]) and 1 (along [1, −1]).
 * const { values, vectors } = symmetricEigen(Float64Array.of(2, 1, 1, 2), 2);
 * assertEquals([...values].map((v) => Math.round(v * 1e9) / 1e9), [3, 1]);
 * assertEquals([...vectors].map((v) => Math.round(v * Math.SQRT2 * 1e9) / 1e9), [1, 1, 1, -1]);
 * ```
 */
export function symmetricEigen(a: ArrayLike<number>, n: number): SymmetricEigen {
  if (!Number.isInteger(n) || n < 0 || a.length !== n * n) {
    throw new RangeError(
      `Cannot decompose the matrix as it must hold n × n = ${n} × ${n} entries: got ${a.length}`,
    );
  }
  for (let i = 0; i < a.length; i++) {
    if (!Number.isFinite(a[i])) {
      throw new RangeError(
        `Cannot decompose the matrix as its entries must be finite: entry ${i} is ${a[i]}`,
      );
    }
  }
  if (n === 0) return { values: new Float64Array(0), vectors: new Float64Array(0) };
  const v = Float64Array.from(a);
  const d = new Float64Array(n), e = new Float64Array(n);
  tridiagonalize(v, d, e, n);
  // The QL sweeps rotate pairs of eigenvector columns; rows of the transpose are contiguous.
  const z = transpose(v, n, n);
  tridiagonalQl(z, d, e, n);
  const order = Array.from({ length: n }, (_, j) => j).sort((p, q) => d[q] - d[p] || p - q);
  const values = new Float64Array(n), vectors = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    values[j] = d[order[j]];
    vectors.set(z.subarray(order[j] * n, order[j] * n + n), j * n);
    fixSign(vectors.subarray(j * n, (j + 1) * n));
  }
  return { values, vectors };
}

/**
 * Householder reduction of the symmetric `v` (overwritten by the accumulated orthogonal
 * transformation Q, row-major) to tridiagonal form: diagonal in `d`, sub-diagonal in `e[1…]`.
 */
function tridiagonalize(v: Float64Array, d: Float64Array, e: Float64Array, n: number): void {
  for (let j = 0; j < n; j++) d[j] = v[(n - 1) * n + j];
  for (let i = n - 1; i > 0; i--) {
    let scale = 0, h = 0;
    for (let k = 0; k < i; k++) scale += Math.abs(d[k]);
    if (scale === 0) {
      e[i] = d[i - 1];
      for (let j = 0; j < i; j++) {
        d[j] = v[(i - 1) * n + j];
        v[i * n + j] = 0;
        v[j * n + i] = 0;
      }
    } else {
      for (let k = 0; k < i; k++) {
        d[k] /= scale;
        h += d[k] * d[k];
      }
      let f = d[i - 1];
      let g = Math.sqrt(h);
      if (f > 0) g = -g;
      e[i] = scale * g;
      h -= f * g;
      d[i - 1] = f - g;
      for (let j = 0; j < i; j++) e[j] = 0;
      for (let j = 0; j < i; j++) {
        f = d[j];
        v[j * n + i] = f;
        g = e[j] + v[j * n + j] * f;
        for (let k = j + 1; k <= i - 1; k++) {
          g += v[k * n + j] * d[k];
          e[k] += v[k * n + j] * f;
        }
        e[j] = g;
      }
      f = 0;
      for (let j = 0; j < i; j++) {
        e[j] /= h;
        f += e[j] * d[j];
      }
      const hh = f / (h + h);
      for (let j = 0; j < i; j++) e[j] -= hh * d[j];
      for (let j = 0; j < i; j++) {
        f = d[j];
        g = e[j];
        for (let k = j; k <= i - 1; k++) v[k * n + j] -= f * e[k] + g * d[k];
        d[j] = v[(i - 1) * n + j];
        v[i * n + j] = 0;
      }
    }
    d[i] = h;
  }
  for (let i = 0; i < n - 1; i++) {
    v[(n - 1) * n + i] = v[i * n + i];
    v[i * n + i] = 1;
    const h = d[i + 1];
    if (h !== 0) {
      for (let k = 0; k <= i; k++) d[k] = v[k * n + i + 1] / h;
      for (let j = 0; j <= i; j++) {
        let g = 0;
        for (let k = 0; k <= i; k++) g += v[k * n + i + 1] * v[k * n + j];
        for (let k = 0; k <= i; k++) v[k * n + j] -= g * d[k];
      }
    }
    for (let k = 0; k <= i; k++) v[k * n + i + 1] = 0;
  }
  for (let j = 0; j < n; j++) {
    d[j] = v[(n - 1) * n + j];
    v[(n - 1) * n + j] = 0;
  }
  v[(n - 1) * n + n - 1] = 1;
  e[0] = 0;
}

/**
 * The implicit QL iteration on the tridiagonal (d, e[1…]): eigenvalues left in `d` (unsorted);
 * `z` holds the transformation's columns as rows and ends holding the eigenvectors as rows.
 */
function tridiagonalQl(z: Float64Array, d: Float64Array, e: Float64Array, n: number): void {
  for (let i = 1; i < n; i++) e[i - 1] = e[i];
  e[n - 1] = 0;
  let f = 0, tst1 = 0;
  const eps = Number.EPSILON;
  for (let l = 0; l < n; l++) {
    tst1 = Math.max(tst1, Math.abs(d[l]) + Math.abs(e[l]));
    let m = l;
    while (m < n - 1 && Math.abs(e[m]) > eps * tst1) m++;
    if (m > l) {
      let iterations = 0;
      do {
        if (++iterations > QL_MAX_ITERATIONS) {
          throw new RangeError(
            `Cannot decompose the matrix as the QL iteration did not converge for eigenvalue ${l} of ${n} in ${QL_MAX_ITERATIONS} sweeps`,
          );
        }
        let g = d[l];
        let p = (d[l + 1] - g) / (2 * e[l]);
        let r = Math.hypot(p, 1);
        if (p < 0) r = -r;
        d[l] = e[l] / (p + r);
        d[l + 1] = e[l] * (p + r);
        const dl1 = d[l + 1];
        let h = g - d[l];
        for (let i = l + 2; i < n; i++) d[i] -= h;
        f += h;
        p = d[m];
        let c = 1, c2 = 1, c3 = 1, s = 0, s2 = 0;
        const el1 = e[l + 1];
        for (let i = m - 1; i >= l; i--) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * e[i];
          h = c * p;
          r = Math.hypot(p, e[i]);
          e[i + 1] = s * r;
          s = e[i] / r;
          c = p / r;
          p = c * d[i] - s * g;
          d[i + 1] = h + s * (c * g + s * d[i]);
          const zi = i * n, zj = (i + 1) * n;
          for (let k = 0; k < n; k++) {
            const t = z[zj + k];
            z[zj + k] = s * z[zi + k] + c * t;
            z[zi + k] = c * z[zi + k] - s * t;
          }
        }
        p = -s * s2 * c3 * el1 * e[l] / dl1;
        e[l] = s * p;
        d[l] = c * p;
      } while (Math.abs(e[l]) > eps * tst1);
    }
    d[l] += f;
    e[l] = 0;
  }
}

/** A rank-r approximation A ≈ u · diag(s) · vt of a [rows × cols] matrix. */
export interface TruncatedSvd {
  rows: number;
  cols: number;
  /** Singular triplets kept. */
  rank: number;
  /** Left singular vectors as COLUMNS, row-major [rows × rank], orthonormal. */
  u: Float64Array;
  /** Singular values, largest first, ≥ 0; those below the Gram side's precision are exactly 0. */
  s: Float64Array;
  /** Right singular vectors as ROWS, row-major [rank × cols] (numpy's `Vh`), orthonormal. */
  vt: Float64Array;
}

/** What {@link truncatedSvd} keeps. */
export interface TruncatedSvdOptions {
  /** Triplets to keep, 0 … min(rows, cols) (default min(rows, cols): the thin SVD). */
  rank?: number;
}

/**
 * The top singular triplets of a [rows × cols] matrix, through the eigendecomposition
 * ({@link symmetricEigen}) of its smaller Gram matrix: A·Aᵀ when rows ≤ cols (then
 * v_j = Aᵀu_j/σ_j), else Aᵀ·A (then u_j = A·v_j/σ_j). So u·uᵀ·A (or A·vt ᵀ·vt) is an orthogonal
 * projection of A and the product u·diag(s)·vt is as accurate as the eigenvectors; the Gram
 * squares the condition number, so singular values below √(ε·max(rows, cols))·σ₁ carry no digits:
 * they are returned as 0, and their vectors on the derived side are a deterministic completion
 * to an orthonormal set (standard basis vectors, Gram–Schmidt twice). Signs are fixed: each u_j's
 * largest-magnitude entry (the first of equal ones) is positive, v_j following it.
 *
 * Cost: min(rows, cols)²·max(rows, cols) for the Gram and the derived side, plus 4·min³.
 *
 * @param a the matrix, row-major [rows × cols], float64 or float32
 * @param rows its rows
 * @param cols its columns
 * @param options the rank to keep
 * @returns u [rows × rank], s [rank], vt [rank × cols]
 * @throws {RangeError} when `a` does not hold rows × cols finite entries, or the rank is not an
 *   integer in [0, min(rows, cols)]
 * @example
 * ```ts
 * import { truncatedSvd } from "./mod.ts";
 * import { assertEquals } from "../../../tests/assert.ts";
 * // diag(3, 2) padded to 2 × 3: the best rank-1 approximation keeps σ₁ = 3 along e₀.
 * const svd = truncatedSvd(Float64Array.of(3, 0, 0, 0, -2, 0), 2, 3, { rank: 1 });
 * assertEquals([...svd.s], [3]);
 * assertEquals([...svd.u], [1, 0]);
 * assertEquals([...svd.vt], [1, 0, 0]);
 * ```
 */
export function truncatedSvd(
  a: ArrayLike<number>,
  rows: number,
  cols: number,
  options: TruncatedSvdOptions = {},
): TruncatedSvd {
  const small = Math.min(rows, cols);
  const rank = options.rank ?? small;
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 0 || cols < 0) {
    throw new RangeError(
      `Cannot take the SVD as rows and cols must be integers ≥ 0: got ${rows} × ${cols}`,
    );
  }
  if (a.length !== rows * cols) {
    throw new RangeError(
      `Cannot take the SVD as the matrix must hold rows × cols = ${rows} × ${cols} entries: got ${a.length}`,
    );
  }
  if (!Number.isInteger(rank) || rank < 0 || rank > small) {
    throw new RangeError(
      `Cannot take the SVD as 'rank' must be an integer in [0, ${small}]: current value is ${rank}`,
    );
  }
  const wide = rows <= cols;
  // The Gram of the smaller side; its eigenvectors are the singular vectors on that side.
  const gram = new Float64Array(small * small);
  if (wide) {
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j <= i; j++) {
        let sum = 0;
        for (let c = 0; c < cols; c++) sum += a[i * cols + c] * a[j * cols + c];
        gram[i * rows + j] = sum;
        gram[j * rows + i] = sum;
      }
    }
  } else {
    const row = new Float64Array(cols);
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) row[c] = a[r * cols + c];
      for (let i = 0; i < cols; i++) {
        const x = row[i];
        if (x === 0) continue;
        const gi = i * cols;
        for (let j = 0; j <= i; j++) gram[gi + j] += x * row[j];
      }
    }
    for (let i = 0; i < cols; i++) {
      for (let j = 0; j < i; j++) gram[j * cols + i] = gram[i * cols + j];
    }
  }
  const eigen = symmetricEigen(gram, small);
  const s = new Float64Array(rank);
  const top = small > 0 ? Math.sqrt(Math.max(eigen.values[0], 0)) : 0;
  const floor = top * Math.sqrt(Number.EPSILON * Math.max(rows, cols, 1));
  for (let j = 0; j < rank; j++) {
    const sigma = Math.sqrt(Math.max(eigen.values[j], 0));
    s[j] = sigma > floor ? sigma : 0;
  }
  // Singular vectors as rows on both sides: `near` from the eigenvectors, `far` derived.
  const nearLength = small, farLength = wide ? cols : rows;
  const near = eigen.vectors.slice(0, rank * nearLength);
  const far = new Float64Array(rank * farLength);
  for (let j = 0; j < rank; j++) {
    if (s[j] === 0) continue;
    const out = far.subarray(j * farLength, (j + 1) * farLength);
    const vec = near.subarray(j * nearLength, (j + 1) * nearLength);
    if (wide) {
      // v_j = Aᵀ·u_j / σ_j: a sum of A's rows.
      for (let i = 0; i < rows; i++) {
        const w = vec[i];
        if (w === 0) continue;
        for (let c = 0; c < cols; c++) out[c] += w * a[i * cols + c];
      }
    } else {
      // u_j = A·v_j / σ_j: a dot product per row.
      for (let r = 0; r < rows; r++) {
        let sum = 0;
        for (let c = 0; c < cols; c++) sum += a[r * cols + c] * vec[c];
        out[r] = sum;
      }
    }
    for (let t = 0; t < farLength; t++) out[t] /= s[j];
  }
  completeOrthonormal(far, s, rank, farLength);
  const uRows = wide ? near : far, vt = wide ? far : near;
  const u = new Float64Array(rows * rank);
  for (let j = 0; j < rank; j++) {
    fixSign(uRows.subarray(j * rows, (j + 1) * rows), vt.subarray(j * cols, (j + 1) * cols));
    for (let i = 0; i < rows; i++) u[i * rank + j] = uRows[j * rows + i];
  }
  return { rows, cols, rank, u, s, vt };
}

/**
 * Replaces the rows of `vectors` [count × length] whose singular value is 0 by unit vectors
 * orthogonal to every other row: standard basis vectors in order, Gram–Schmidt twice, the first
 * that keeps more than half its norm.
 */
function completeOrthonormal(
  vectors: Float64Array,
  s: Float64Array,
  count: number,
  length: number,
): void {
  let next = 0;
  for (let j = 0; j < count; j++) {
    if (s[j] !== 0) continue;
    const out = vectors.subarray(j * length, (j + 1) * length);
    for (; next < length; next++) {
      out.fill(0);
      out[next] = 1;
      for (let pass = 0; pass < 2; pass++) {
        for (let q = 0; q < count; q++) {
          if (q === j || (s[q] === 0 && q > j)) continue;
          const other = vectors.subarray(q * length, (q + 1) * length);
          let dot = 0;
          for (let t = 0; t < length; t++) dot += other[t] * out[t];
          for (let t = 0; t < length; t++) out[t] -= dot * other[t];
        }
      }
      let norm = 0;
      for (let t = 0; t < length; t++) norm += out[t] * out[t];
      norm = Math.sqrt(norm);
      if (norm > 0.5) {
        for (let t = 0; t < length; t++) out[t] /= norm;
        next++;
        break;
      }
    }
  }
}

/**
 * Makes the largest-magnitude entry (the first of equal ones) of `x` positive, negating
 * `partner` (the other singular vector of the pair) with it.
 */
function fixSign(x: Float64Array, partner?: Float64Array): void {
  let best = 0, at = -1;
  for (let i = 0; i < x.length; i++) {
    const m = Math.abs(x[i]);
    if (m > best) {
      best = m;
      at = i;
    }
  }
  if (at < 0 || x[at] > 0) return;
  for (let i = 0; i < x.length; i++) x[i] = -x[i];
  if (partner) { for (let i = 0; i < partner.length; i++) partner[i] = -partner[i]; }
}

function transpose(a: Float64Array, rows: number, cols: number): Float64Array {
  const t = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = a[r * cols + c];
  return t;
}

/**
 * The whitening of a layer's inputs: the lower Cholesky factor L of G + damping·mean(diag G)·I,
 * G = Σ xᵀx over the calibration inputs (bench/nn/hooks.ts `collectInputGram`). For any
 * weight change Δ [out × in], ‖Δ·Xᵀ‖²_F = ‖Δ·L‖²_F up to the damping, so approximating the
 * whitened weights W·L in the plain Frobenius norm approximates the layer's outputs
 * (SVD-LLM's truncation-aware whitening; CoSpaDi's Gram orthonormalization).
 *
 * @param gram Σ xᵀx, row-major [n × n]
 * @param n the layer's inputs
 * @param damping share of the Gram's mean diagonal added to its diagonal (inputs the calibration
 *   never excites make G singular; 0.01 is SparseGPT's default)
 * @returns L, row-major [n × n], zero above the diagonal
 * @throws {RangeError} when the Gram is not n × n, the damping is negative or not finite, or the
 *   damped Gram is not positive definite (no calibration rows, or damping 0 with a dead input)
 * @example
 * ```ts
 * import { inputWhitening } from "./mod.ts";
 * import { assertEquals } from "../../../tests/assert.ts";
 * // G = diag(4, 0): the dead input gets damping·mean(diag) = 0.5·2 = 1 on its diagonal.
 * assertEquals([...inputWhitening([4, 0, 0, 0], 2, 0.5)], [Math.sqrt(5), 0, 0, 1]);
 * ```
 */
export function inputWhitening(gram: ArrayLike<number>, n: number, damping: number): Float64Array {
  if (gram.length !== n * n) {
    throw new RangeError(
      `Cannot whiten as the Gram must be n × n = ${n} × ${n}: got ${gram.length} entries`,
    );
  }
  if (!(damping >= 0) || !Number.isFinite(damping)) {
    throw new RangeError(
      `Cannot whiten as 'damping' must be a finite number ≥ 0: current value is ${damping}`,
    );
  }
  const g = Float64Array.from(gram);
  let meanDiag = 0;
  for (let j = 0; j < n; j++) meanDiag += g[j * n + j] / n;
  for (let j = 0; j < n; j++) g[j * n + j] += damping * meanDiag;
  try {
    return choleskyLower(g, n);
  } catch (error) {
    throw new RangeError(
      `Cannot whiten as the damped input Gram must be positive definite (raise 'damping', now ${damping}, or calibrate with inputs): ${
        (error as Error).message
      }`,
    );
  }
}

/**
 * W·L: a layer's weights [rows × n] in the whitened input space of {@link inputWhitening}.
 *
 * @param w the weights, row-major [rows × n]
 * @param rows output units
 * @param lower L, row-major [n × n], lower triangular
 * @returns W·L, row-major [rows × n], float64
 */
export function whitenRows(w: ArrayLike<number>, rows: number, lower: Float64Array): Float64Array {
  const n = Math.round(Math.sqrt(lower.length));
  checkRows(w, rows, n, "whiten");
  const upper = transpose(lower, n, n);
  const out = new Float64Array(rows * n), row = new Float64Array(n);
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < n; i++) row[i] = w[r * n + i];
    // (W·L)[r, j] = Σ_{i ≥ j} W[r, i]·L[i, j], and row j of Lᵀ holds L[i, j] for i ≥ j.
    for (let j = 0; j < n; j++) {
      let sum = 0;
      const uj = j * n;
      for (let i = j; i < n; i++) sum += upper[uj + i] * row[i];
      out[r * n + j] = sum;
    }
  }
  return out;
}

/**
 * M·L⁻¹: rows from the whitened input space back to the layer's (the inverse of
 * {@link whitenRows}), by back substitution, without forming L⁻¹.
 *
 * @param m rows in the whitened space, row-major [rows × n]
 * @param rows their count
 * @param lower L, row-major [n × n], lower triangular with a non-zero diagonal
 * @returns M·L⁻¹, row-major [rows × n], float64
 */
export function unwhitenRows(
  m: ArrayLike<number>,
  rows: number,
  lower: Float64Array,
): Float64Array {
  const n = Math.round(Math.sqrt(lower.length));
  checkRows(m, rows, n, "unwhiten");
  const upper = transpose(lower, n, n);
  const out = new Float64Array(rows * n);
  for (let r = 0; r < rows; r++) {
    const o = r * n;
    // x·L = m ⇔ m_j = Σ_{i ≥ j} x_i·L[i, j]: solve for x_j from the last input down.
    for (let j = n - 1; j >= 0; j--) {
      const uj = j * n;
      let sum = m[o + j];
      for (let i = j + 1; i < n; i++) sum -= upper[uj + i] * out[o + i];
      out[o + j] = sum / upper[uj + j];
    }
  }
  return out;
}

function checkRows(w: ArrayLike<number>, rows: number, n: number, verb: string): void {
  if (w.length !== rows * n) {
    throw new RangeError(
      `Cannot ${verb} the rows as they must hold rows × n = ${rows} × ${n} entries: got ${w.length}`,
    );
  }
}

/** One layer as {@link factorizeLayers} hands it to a method's factorization. */
export interface LayerToFactorize {
  /** The layer's effective weights, row-major [rows × cols] (rows = outputs, cols = inputs). */
  weights: Float32Array;
  rows: number;
  cols: number;
  /** Σ xᵀx over its calibration inputs (through the layers factorized before it), [cols × cols]. */
  gram: Float64Array;
  /** Input rows the Gram summed. */
  samples: number;
  /** Its position in `model.linears()`. */
  index: number;
  /**
   * Values its factors may store: round(share · the parameters of this and every earlier layer)
   * minus what the earlier layers' factors stored, so rounding a rank (or a dictionary size)
   * in one layer is made up in the next and the model as a whole ends at the share.
   */
  budget: number;
}

/** How {@link factorizeLayers} factorizes. */
export interface FactorizeLayersOptions {
  /** Share of each layer's parameters its factors may store (1 − compression). */
  share: number;
  /** One layer's factorization, within `layer.budget` stored values. */
  factorize: (layer: LayerToFactorize) => LayerFactors;
}

/** What a method's factorization returns for one layer: W ≈ left · right. */
export interface LayerFactors {
  /** [rows × rank], row-major; zeros are not stored. */
  left: Float32Array;
  /** [rank × cols], row-major; zeros are not stored. */
  right: Float32Array;
  rank: number;
  /** Bytes of index data a sparse factor needs besides its values. */
  indexBytes: number;
}

/** What {@link factorizeLayers} did, per layer in `model.linears()` order. */
export interface FactorizedModel {
  /** For the prune report: each layer's factors, its weight set to their product. */
  factors: FactorizedLayer[];
  /**
   * tr(Δ·G·Δᵀ) / tr(W·G·Wᵀ) per layer, Δ = W − left·right and G its undamped calibration Gram:
   * the relative squared error of the layer's outputs (bias aside) on its calibration inputs.
   */
  outputErrors: number[];
}

/**
 * Factorizes every Linear layer of `model` in forward order: hook the layer's input Gram, run the
 * calibration data through the model as factorized so far (as far as that layer), call
 * `factorize` with the layer's share of the stored values ({@link LayerToFactorize.budget}), set
 * the weight to the float32 product left·right (computed in float64) and clear its mask. Each
 * layer thus fits the inputs its already-factorized predecessors produce.
 *
 * @param model the model, changed in place
 * @param calibration its calibration data
 * @param options the stored share and one layer's factorization
 * @returns the factors (for the report and the gate) and each layer's relative output error
 * @throws {RangeError} when factors do not have the layer's shapes, or as `factorize` throws
 */
export function factorizeLayers(
  model: Pick<PrunableModel, "linears">,
  calibration: Calibration,
  options: FactorizeLayersOptions,
): FactorizedModel {
  const factors: FactorizedLayer[] = [], outputErrors: number[] = [];
  let seen = 0, stored = 0;
  model.linears().forEach((layer, index) => {
    const stat = collectInputGram(layer);
    try {
      calibration.run({ until: layer });
    } finally {
      stat.detach();
    }
    const rows = layer.outFeatures, cols = layer.inFeatures;
    const weights = Float32Array.from(layer.weight.effective());
    const gram = stat.value();
    seen += rows * cols;
    const budget = Math.round(options.share * seen) - stored;
    const f = options.factorize({ weights, rows, cols, gram, samples: stat.rows(), index, budget });
    if (f.left.length !== rows * f.rank || f.right.length !== f.rank * cols) {
      throw new RangeError(
        `Cannot factorize ${layer.weight.name} as its factors must be [${rows} × ${f.rank}] and [${f.rank} × ${cols}]: got ${f.left.length} and ${f.right.length} entries`,
      );
    }
    stored += nonzeroCount(f.left) + nonzeroCount(f.right);
    const product = factorProduct(f.left, f.right, rows, f.rank, cols);
    outputErrors.push(relativeOutputError(weights, product, rows, cols, gram));
    layer.weight.data.set(product);
    layer.weight.setMask(null);
    factors.push({ layer, rank: f.rank, left: f.left, right: f.right, indexBytes: f.indexBytes });
  });
  return { factors, outputErrors };
}

function nonzeroCount(a: Float32Array): number {
  let n = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== 0) n++;
  return n;
}

/** left·right in float64, rounded to float32 once; a sparse left's zeros are skipped. */
function factorProduct(
  left: Float32Array,
  right: Float32Array,
  rows: number,
  rank: number,
  cols: number,
): Float32Array {
  const out = new Float32Array(rows * cols), acc = new Float64Array(cols);
  for (let r = 0; r < rows; r++) {
    acc.fill(0);
    for (let k = 0; k < rank; k++) {
      const c = left[r * rank + k];
      if (c === 0) continue;
      const rk = k * cols;
      for (let j = 0; j < cols; j++) acc[j] += c * right[rk + j];
    }
    for (let j = 0; j < cols; j++) out[r * cols + j] = acc[j];
  }
  return out;
}

/** tr(Δ·G·Δᵀ) / tr(W·G·Wᵀ) with Δ = W − approx; 0 when the layer's outputs are all zero. */
function relativeOutputError(
  w: Float32Array,
  approx: Float32Array,
  rows: number,
  cols: number,
  gram: Float64Array,
): number {
  let error = 0, total = 0;
  const d = new Float64Array(cols), x = new Float64Array(cols);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < cols; j++) {
      x[j] = w[r * cols + j];
      d[j] = x[j] - approx[r * cols + j];
    }
    for (let i = 0; i < cols; i++) {
      const gi = i * cols;
      let gd = 0, gx = 0;
      for (let j = 0; j < cols; j++) {
        gd += gram[gi + j] * d[j];
        gx += gram[gi + j] * x[j];
      }
      error += d[i] * gd;
      total += x[i] * gx;
    }
  }
  return total > 0 ? error / total : 0;
}
