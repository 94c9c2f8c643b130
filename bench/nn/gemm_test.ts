import { assert, assertEquals, assertThrows } from "../../tests/assert.ts";
import { compileGemmWat, renderGemmModule } from "./build_gemm_wasm.ts";
import { gemm, gemmTs, setGemmBackend } from "./gemm.ts";
import { mulberry32 } from "../random.ts";

/** C = op(A)·op(B) in float64, the obvious way: A is m × k (k × m when transposed), B k × n. */
function naive(
  a: Float32Array,
  b: Float32Array,
  shape: { m: number; n: number; k: number; transA: boolean; transB: boolean },
): Float64Array {
  const { m, n, k, transA, transB } = shape;
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) {
        s += (transA ? a[p * m + i] : a[i * k + p]) * (transB ? b[j * k + p] : b[p * n + j]);
      }
      c[i * n + j] = s;
    }
  }
  return c;
}

Deno.test("gemm() matches a float64 product on odd shapes, both backends, every transpose", () => {
  const u = mulberry32(11);
  for (const backend of ["wasm", "ts"] as const) {
    const previous = setGemmBackend(backend);
    try {
      for (const [m, n, k] of [[1, 1, 1], [3, 5, 7], [17, 9, 33], [64, 31, 5], [5, 130, 12]]) {
        for (const transA of [false, true]) {
          for (const transB of [false, true]) {
            const a = Float32Array.from({ length: m * k }, () => u() - 0.5);
            const b = Float32Array.from({ length: k * n }, () => u() - 0.5);
            const c = new Float32Array(m * n).fill(1);
            gemm({ m, n, k, a, b, c, transA, transB, accumulate: true });
            const want = naive(a, b, { m, n, k, transA, transB });
            for (let i = 0; i < c.length; i++) {
              assert(
                Math.abs(c[i] - 1 - want[i]) < 1e-5,
                `${backend} ${m}x${n}x${k} ${transA} ${transB} at ${i}`,
              );
            }
          }
        }
      }
    } finally {
      setGemmBackend(previous);
    }
  }
});

Deno.test("gemm() honours offsets and leading dimensions", () => {
  // A 2×2 block inside a 3×4 matrix times a 2×2 block inside a 2×5 matrix, into a 2×3 buffer.
  const a = Float32Array.from({ length: 12 }, (_, i) => i);
  const b = Float32Array.from({ length: 10 }, (_, i) => i + 1);
  for (const backend of ["wasm", "ts"] as const) {
    const previous = setGemmBackend(backend);
    const c = new Float32Array(6);
    gemm({ m: 2, n: 2, k: 2, a, aOffset: 5, lda: 4, b, bOffset: 1, ldb: 5, c, cOffset: 1, ldc: 3 });
    setGemmBackend(previous);
    // rows of A: [5, 6], [9, 10]; columns of B: [2, 7], [3, 8]
    assertEquals([...c], [0, 5 * 2 + 6 * 7, 5 * 3 + 6 * 8, 0, 9 * 2 + 10 * 7, 9 * 3 + 10 * 8]);
  }
});

Deno.test("gemm() rejects bad sizes and is deterministic", () => {
  assertThrows(
    () =>
      gemm({
        m: -1,
        n: 1,
        k: 1,
        a: new Float32Array(1),
        b: new Float32Array(1),
        c: new Float32Array(1),
      }),
    RangeError,
    "'m' must be a non-negative integer",
  );
  const u = mulberry32(2);
  const a = Float32Array.from({ length: 40 * 50 }, () => u()),
    b = Float32Array.from({ length: 50 * 30 }, () => u());
  const c1 = new Float32Array(40 * 30),
    c2 = new Float32Array(40 * 30),
    c3 = new Float32Array(40 * 30);
  gemm({ m: 40, n: 30, k: 50, a, b, c: c1 });
  gemm({ m: 40, n: 30, k: 50, a, b, c: c2 });
  gemmTs({ m: 40, n: 30, k: 50, a, b, c: c3 });
  assertEquals(c1, c2);
  for (let i = 0; i < c1.length; i++) assert(Math.abs(c1[i] - c3[i]) < 1e-4);
});

Deno.test("gemm_wasm.ts holds the compiled bytes of gemm.wat", async () => {
  const source = await Deno.readTextFile(new URL("gemm.wat", import.meta.url));
  const committed = await Deno.readTextFile(new URL("gemm_wasm.ts", import.meta.url));
  assertEquals(
    committed,
    renderGemmModule(await compileGemmWat(source)),
    "run bench/nn/build_gemm_wasm.ts",
  );
});
