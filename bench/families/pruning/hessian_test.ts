import { assert, assertEquals, assertThrows } from "../../../tests/assert.ts";
import { mulberry32, normal } from "../../random.ts";
import { choleskyLower, inverseFromCholesky, spdInverse, upperCholeskyOfInverse } from "./mod.ts";

/** max |a − b| over every entry. */
function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

/** A·B of n × n row-major matrices, `ta` reading A transposed. */
function matmul(a: ArrayLike<number>, b: ArrayLike<number>, n: number, ta = false): Float64Array {
  const c = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += (ta ? a[k * n + i] : a[i * n + k]) * b[k * n + j];
      c[i * n + j] = s;
    }
  }
  return c;
}

/** Xᵀ·X/rows + shift·I of a seeded Gaussian X [rows × n]: SPD for rows ≥ n or shift > 0. */
function randomSpd(n: number, seed: number, rows = n + 3, shift = 0): Float64Array {
  const z = normal(mulberry32(seed));
  const x = Float64Array.from({ length: rows * n }, z);
  const a = new Float64Array(n * n);
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) a[i * n + j] += x[r * n + i] * x[r * n + j] / rows;
    }
  }
  for (let i = 0; i < n; i++) a[i * n + i] += shift;
  return a;
}

const identity = (n: number) =>
  Float64Array.from({ length: n * n }, (_, i) => i % (n + 1) === 0 ? 1 : 0);

Deno.test("choleskyLower() factors a hand-computed 3 × 3 matrix", () => {
  // L = [[2, 0, 0], [1, 3, 0], [-1, 2, 1]] gives A = L·Lᵀ below.
  const a = Float64Array.of(4, 2, -2, 2, 10, 5, -2, 5, 6);
  assertEquals([...choleskyLower(a, 3)], [2, 0, 0, 1, 3, 0, -1, 2, 1]);
});

Deno.test("spdInverse() and upperCholeskyOfInverse() of the hand-computed matrix", () => {
  const a = Float64Array.of(4, 2, -2, 2, 10, 5, -2, 5, 6);
  // A⁻¹ = adj(A)/det(A), det(A) = (2·3·1)² = 36: adj(A) = [[35, -22, 30], [-22, 20, -24], [30, -24, 36]].
  const expected = [35, -22, 30, -22, 20, -24, 30, -24, 36].map((v) => v / 36);
  assert(maxDiff(spdInverse(a, 3), expected) < 1e-12);
  const u = upperCholeskyOfInverse(a, 3);
  // Upper triangular with UᵀU = A⁻¹: U[0, 0]² = (A⁻¹)[0, 0] = 35/36, and H = U⁻¹·U⁻ᵀ with U⁻¹
  // upper gives U[2, 2] = 1/√A[2, 2] = 1/√6.
  assertEquals([u[3], u[6], u[7]], [0, 0, 0]);
  assert(Math.abs(u[0] - Math.sqrt(35 / 36)) < 1e-12);
  assert(Math.abs(u[8] - 1 / Math.sqrt(6)) < 1e-12);
  assert(maxDiff(matmul(u, u, 3, true), expected) < 1e-12);
});

Deno.test("the factors reconstruct random SPD matrices and their inverses within 1e-9", () => {
  for (const [n, seed, shift] of [[1, 1, 0], [5, 2, 0], [13, 3, 0.01], [40, 4, 0]]) {
    const a = randomSpd(n, seed, n + 3, shift);
    const l = choleskyLower(a, n);
    assert(maxDiff(matmul(l, l.map((_, i) => l[(i % n) * n + Math.floor(i / n)]), n), a) < 1e-9);
    const inv = inverseFromCholesky(l, n);
    assert(maxDiff(matmul(a, inv, n), identity(n)) < 1e-9, `A·A⁻¹ = I, n = ${n}`);
    const u = upperCholeskyOfInverse(a, n);
    for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) assertEquals(u[i * n + j], 0);
    assert(maxDiff(matmul(u, u, n, true), inv) < 1e-9, `UᵀU = A⁻¹, n = ${n}`);
  }
});

Deno.test("choleskyLower() refuses a matrix that is not positive definite or not n × n", () => {
  // Rank 1: [[1, 1], [1, 1]] leaves pivot 1 at 0.
  assertThrows(
    () => choleskyLower(Float64Array.of(1, 1, 1, 1), 2),
    RangeError,
    "pivot 1 of 2 is 0",
  );
  assertThrows(() => choleskyLower(Float64Array.of(-1), 1), RangeError, "positive definite");
  assertThrows(
    () => spdInverse(Float64Array.of(1, 2, 3), 2),
    RangeError,
    "n × n = 2 × 2 entries: got 3",
  );
});
