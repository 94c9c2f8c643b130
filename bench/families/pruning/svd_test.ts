import { assert, assertEquals, assertThrows } from "../../../tests/assert.ts";
import { mulberry32, normal } from "../../random.ts";
import { inputWhitening, symmetricEigen, truncatedSvd, unwhitenRows, whitenRows } from "./mod.ts";

function gaussian(count: number, seed: number): Float64Array {
  const z = normal(mulberry32(seed));
  return Float64Array.from({ length: count }, z);
}

function symmetric(n: number, seed: number): Float64Array {
  const g = gaussian(n * n, seed), a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) a[i * n + j] = g[i * n + j] + g[j * n + i];
  }
  return a;
}

/** A random orthonormal basis as rows [n × n]: Gram–Schmidt (twice) of Gaussian rows. */
function orthonormalRows(n: number, seed: number): Float64Array {
  const q = gaussian(n * n, seed);
  for (let j = 0; j < n; j++) {
    const row = q.subarray(j * n, (j + 1) * n);
    for (let pass = 0; pass < 2; pass++) {
      for (let p = 0; p < j; p++) {
        const other = q.subarray(p * n, (p + 1) * n);
        const dot = other.reduce((s, v, t) => s + v * row[t], 0);
        for (let t = 0; t < n; t++) row[t] -= dot * other[t];
      }
    }
    const norm = Math.hypot(...row);
    for (let t = 0; t < n; t++) row[t] /= norm;
  }
  return q;
}

/** max |(rows of x)·(rows of x)ᵀ − I| for x [count × length]. */
function rowOrthogonalityError(x: Float64Array, count: number, length: number): number {
  let worst = 0;
  for (let i = 0; i < count; i++) {
    for (let j = 0; j < count; j++) {
      let dot = 0;
      for (let t = 0; t < length; t++) dot += x[i * length + t] * x[j * length + t];
      worst = Math.max(worst, Math.abs(dot - (i === j ? 1 : 0)));
    }
  }
  return worst;
}

function transpose(a: Float64Array, rows: number, cols: number): Float64Array {
  const t = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = a[r * cols + c];
  return t;
}

/** u·diag(s)·vt. */
function reconstruct(svd: ReturnType<typeof truncatedSvd>): Float64Array {
  const { rows, cols, rank, u, s, vt } = svd;
  const out = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let k = 0; k < rank; k++) {
      const w = u[r * rank + k] * s[k];
      for (let c = 0; c < cols; c++) out[r * cols + c] += w * vt[k * cols + c];
    }
  }
  return out;
}

function frobenius(a: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i] * a[i];
  return Math.sqrt(sum);
}

function difference(a: ArrayLike<number>, b: ArrayLike<number>): Float64Array {
  return Float64Array.from({ length: a.length }, (_, i) => a[i] - b[i]);
}

Deno.test("symmetricEigen() diagonalizes random symmetric matrices of odd orders with orthonormal vectors, largest first", () => {
  for (const n of [1, 2, 3, 5, 17, 64]) {
    const a = symmetric(n, 100 + n);
    const { values, vectors } = symmetricEigen(a, n);
    const scale = Math.max(...values.map(Math.abs));
    assert(rowOrthogonalityError(vectors, n, n) < 1e-12, `n=${n}: orthonormal`);
    for (let j = 0; j < n; j++) {
      if (j > 0) assert(values[j] <= values[j - 1], `n=${n}: sorted`);
      // A·v_j = λ_j·v_j
      const v = vectors.subarray(j * n, (j + 1) * n);
      for (let i = 0; i < n; i++) {
        let av = 0;
        for (let t = 0; t < n; t++) av += a[i * n + t] * v[t];
        assert(Math.abs(av - values[j] * v[i]) < 1e-11 * scale, `n=${n}: residual of pair ${j}`);
      }
      // The sign rule: the largest-magnitude component is positive.
      const at = v.reduce((best, x, i) => (Math.abs(x) > Math.abs(v[best]) ? i : best), 0);
      assert(v[at] > 0, `n=${n}: sign of vector ${j}`);
    }
  }
});

Deno.test("symmetricEigen() handles repeated and zero eigenvalues, and is bit-for-bit deterministic", () => {
  const zero = symmetricEigen(new Float64Array(9), 3);
  assertEquals([...zero.values], [0, 0, 0]);
  assert(rowOrthogonalityError(zero.vectors, 3, 3) === 0);
  const { values } = symmetricEigen(Float64Array.of(2, 0, 0, 0, 5, 0, 0, 0, 2), 3);
  assertEquals([...values], [5, 2, 2]);
  const a = symmetric(40, 7);
  const first = symmetricEigen(a, 40), second = symmetricEigen(a, 40);
  assertEquals([...first.values], [...second.values]);
  assertEquals([...first.vectors], [...second.vectors]);
  assertEquals(symmetricEigen(new Float64Array(0), 0).values.length, 0);
});

Deno.test("symmetricEigen() refuses wrong sizes and non-finite entries", () => {
  assertThrows(() => symmetricEigen([1, 2, 3], 2), RangeError, "n × n = 2 × 2");
  assertThrows(() => symmetricEigen([1, NaN, NaN, 1], 2), RangeError, "finite");
});

Deno.test("truncatedSvd() reconstructs 1×1, 5×3, 3×5, 30×17 and 300×100 matrices with orthonormal vectors", () => {
  for (const [rows, cols] of [[1, 1], [5, 3], [3, 5], [30, 17], [17, 30], [300, 100]]) {
    const a = gaussian(rows * cols, rows * 1000 + cols);
    const svd = truncatedSvd(a, rows, cols);
    const rank = Math.min(rows, cols);
    assertEquals(svd.rank, rank);
    const error = frobenius(difference(reconstruct(svd), a)) / frobenius(a);
    assert(error < 1e-12, `${rows}×${cols}: reconstruction ${error}`);
    assert(rowOrthogonalityError(transpose(svd.u, rows, rank), rank, rows) < 1e-10, "U");
    assert(rowOrthogonalityError(svd.vt, rank, cols) < 1e-10, `${rows}×${cols}: V`);
    for (let j = 1; j < rank; j++) assert(svd.s[j] <= svd.s[j - 1] && svd.s[j] >= 0);
  }
});

Deno.test("truncatedSvd() keeps the top r triplets: the error is the dropped singular values' (Eckart–Young)", () => {
  for (const [rows, cols] of [[30, 17], [17, 30]]) {
    const a = gaussian(rows * cols, 5 + rows);
    const full = truncatedSvd(a, rows, cols);
    for (const rank of [0, 1, 4, 16]) {
      const top = truncatedSvd(a, rows, cols, { rank });
      assertEquals([...top.s], [...full.s.subarray(0, rank)]);
      const dropped = full.s.subarray(rank).reduce((s, x) => s + x * x, 0);
      const error = frobenius(difference(reconstruct(top), a)) ** 2;
      assert(Math.abs(error - dropped) < 1e-10 * frobenius(a) ** 2, `${rows}×${cols} r=${rank}`);
    }
  }
});

Deno.test("truncatedSvd() recovers a known spectrum, exactly 0 past a matrix's rank, with the vectors still orthonormal", () => {
  // A = Q₁ᵀ·diag(σ)·Q₂ on a 12 × 9 matrix of rank 7.
  const sigma = [10, 5, 2, 1, 0.5, 0.1, 0.01, 0, 0];
  const [rows, cols] = [12, 9];
  const q1 = orthonormalRows(rows, 1), q2 = orthonormalRows(cols, 2);
  const a = new Float64Array(rows * cols);
  for (let k = 0; k < cols; k++) {
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        a[r * cols + c] += q1[k * rows + r] * sigma[k] * q2[k * cols + c];
      }
    }
  }
  for (const [m, n, matrix] of [[rows, cols, a], [cols, rows, transpose(a, rows, cols)]] as const) {
    const svd = truncatedSvd(matrix, m, n);
    for (let k = 0; k < 7; k++) {
      assert(Math.abs(svd.s[k] - sigma[k]) < 1e-9 * sigma[k], `σ${k} = ${svd.s[k]}`);
    }
    assertEquals([...svd.s.subarray(7)], [0, 0]);
    assert(rowOrthogonalityError(transpose(svd.u, m, 9), 9, m) < 1e-9, "U");
    assert(rowOrthogonalityError(svd.vt, 9, n) < 1e-9, "V");
    assert(frobenius(difference(reconstruct(svd), matrix)) < 1e-12 * 10);
    // u₁ is ±(Q₁ᵀ)'s first column: the known singular vector, up to the fixed sign.
    const dot = Array.from({ length: m }, (_, r) => svd.u[r * 9] * (m === rows ? q1[r] : q2[r]))
      .reduce((s, x) => s + x, 0);
    assert(Math.abs(Math.abs(dot) - 1) < 1e-12, `first singular vector ${dot}`);
  }
});

Deno.test("truncatedSvd() is deterministic, float32 input included, and refuses a bad rank or size", () => {
  const a = Float32Array.from(gaussian(24 * 11, 9));
  const first = truncatedSvd(a, 24, 11, { rank: 5 }), second = truncatedSvd(a, 24, 11, { rank: 5 });
  assertEquals([...first.u], [...second.u]);
  assertEquals([...first.vt], [...second.vt]);
  for (let j = 0; j < 5; j++) {
    const column = Array.from({ length: 24 }, (_, r) => first.u[r * 5 + j]);
    const at = column.reduce((best, x, i) => (Math.abs(x) > Math.abs(column[best]) ? i : best), 0);
    assert(column[at] > 0, `sign of u${j}`);
  }
  assertThrows(() => truncatedSvd(a, 24, 11, { rank: 12 }), RangeError, "[0, 11]");
  assertThrows(() => truncatedSvd(a, 24, 10), RangeError, "24 × 10");
});

Deno.test("inputWhitening() turns the output error into a plain Frobenius norm, and unwhitenRows() undoes whitenRows()", () => {
  const [n, samples, rows] = [7, 40, 5];
  const x = gaussian(samples * n, 3);
  const gram = new Float64Array(n * n);
  for (let s = 0; s < samples; s++) {
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) gram[i * n + j] += x[s * n + i] * x[s * n + j];
    }
  }
  const lower = inputWhitening(gram, n, 0);
  const delta = gaussian(rows * n, 4);
  // ‖Δ·Xᵀ‖² computed from the samples against ‖Δ·L‖².
  let direct = 0;
  for (let s = 0; s < samples; s++) {
    for (let r = 0; r < rows; r++) {
      let y = 0;
      for (let i = 0; i < n; i++) y += delta[r * n + i] * x[s * n + i];
      direct += y * y;
    }
  }
  const whitened = whitenRows(delta, rows, lower);
  assert(Math.abs(frobenius(whitened) ** 2 - direct) < 1e-10 * direct);
  const back = unwhitenRows(whitened, rows, lower);
  assert(frobenius(difference(back, delta)) < 1e-12 * frobenius(delta));
  assertThrows(() => inputWhitening(new Float64Array(4), 2, 0), RangeError, "raise 'damping'");
  assertThrows(() => inputWhitening(gram, n, -1), RangeError, "≥ 0");
});
