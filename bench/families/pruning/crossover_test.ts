// The crossover task's contract: N:M patterns for densities, the plain product and its gate
// (against the CSR reference on odd shapes; a wrong output caught), the rows a check covers,
// and crossover methods' declarations.
import { assert, assertEquals, assertThrows } from "../../../tests/assert.ts";
import { mulberry32, normal } from "../../random.ts";
import {
  checkedBatchRows,
  compareSpmm,
  csrMatmulReference,
  CsrMatrix,
  defineSpmmMethod,
  nmPatternForDensity,
  SPMM_TOLERANCE,
  spmmKernelOf,
  spmmReference,
} from "./mod.ts";

const META = {
  family: "pruning",
  title: "A kernel",
  description: "a crossover method of the tests",
  paper: { title: "None", year: 2024, link: "https://example.org" },
  fidelity: { level: "faithful", reason: "a test fixture" },
  version: "1.0.0",
  parameters: {},
} as const;

function maskedWeight(seed: number, rows: number, cols: number, density: number) {
  const u = mulberry32(seed), n = normal(u);
  const data = Float32Array.from({ length: rows * cols }, n);
  const mask = Float32Array.from({ length: rows * cols }, () => (u() < density ? 1 : 0));
  return { data, mask, shape: [rows, cols] };
}

Deno.test("nmPatternForDensity() prefers M of 4, 8, 16 and is exact or null", () => {
  assertEquals(nmPatternForDensity(0.25), { n: 1, m: 4 });
  assertEquals(nmPatternForDensity(0.5), { n: 2, m: 4 });
  assertEquals(nmPatternForDensity(0.125), { n: 1, m: 8 });
  assertEquals(nmPatternForDensity(0.2), { n: 1, m: 5 });
  assertEquals(nmPatternForDensity(0.3), { n: 3, m: 10 });
  assertEquals(nmPatternForDensity(0.4), { n: 2, m: 5 });
  assertEquals(nmPatternForDensity(0.6), { n: 3, m: 5 });
  assertEquals(nmPatternForDensity(1), { n: 4, m: 4 });
  assertEquals(nmPatternForDensity(0.01), null);
  assertEquals(nmPatternForDensity(0.05), null);
  for (const d of [0.1, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6]) {
    const p = nmPatternForDensity(d)!;
    assertEquals(p.n / p.m, d);
    assert(p.m <= 16);
  }
  assertThrows(() => nmPatternForDensity(0), RangeError, "(0, 1]");
});

Deno.test("spmmReference() equals the CSR reference on odd shapes", () => {
  for (const [rows, cols, batch] of [[1, 7, 1], [13, 29, 3], [100, 300, 5]]) {
    const w = maskedWeight(rows * cols, rows, cols, 0.3);
    const x = Float32Array.from({ length: batch * cols }, normal(mulberry32(9)));
    const ref = spmmReference(w, x);
    const csr = csrMatmulReference(CsrMatrix.fromMasked(w), x, { batch });
    assertEquals(ref.batchRows.length, batch);
    for (let i = 0; i < ref.y.length; i++) {
      assert(Math.abs(ref.y[i] - csr[i]) <= 1e-6 * ref.scale[i] + 1e-12, `output ${i}`);
      assert(ref.scale[i] >= Math.abs(ref.y[i]));
    }
    assert(compareSpmm(csr, ref).passed);
  }
});

Deno.test("spmmReference() covers only the batch rows asked for", () => {
  const w = maskedWeight(1, 4, 6, 0.5);
  const x = Float32Array.from({ length: 5 * 6 }, normal(mulberry32(2)));
  const all = spmmReference(w, x), some = spmmReference(w, x, [1, 4]);
  assertEquals([...some.y], [...all.y.slice(4, 8), ...all.y.slice(16, 20)]);
  assertThrows(() => spmmReference(w, x, [5]), RangeError, "rows 0…4");
  assertThrows(() => spmmReference(w, new Float32Array(7)), RangeError, "whole rows");
});

Deno.test("compareSpmm() catches a wrong, missing or non-finite output", () => {
  const w = maskedWeight(3, 64, 256, 0.2);
  const x = Float32Array.from({ length: 4 * 256 }, normal(mulberry32(4)));
  const ref = spmmReference(w, x);
  const good = Float32Array.from(ref.y);
  const verdict = compareSpmm(good, ref);
  assert(verdict.passed && verdict.maxRelError < SPMM_TOLERANCE / 10);
  assertEquals(verdict.compared, 4 * 64);

  const wrong = Float32Array.from(good);
  wrong[70] += 1e-3 * ref.scale[70];
  assert(!compareSpmm(wrong, ref).passed);
  // One weight dropped: its term is missing from one output.
  const dropped = Float32Array.from(good);
  const r = 5, c = w.mask.findIndex((m, i) => i >= r * 256 && m !== 0) - r * 256;
  dropped[r] -= w.data[r * 256 + c] * x[c];
  assert(!compareSpmm(dropped, ref).passed);
  const nan = Float32Array.from(good);
  nan[3] = NaN;
  assertEquals(compareSpmm(nan, ref).nonFinite, 1);
  assert(!compareSpmm(nan, ref).passed);
  assertThrows(() => compareSpmm(good.subarray(0, 10), ref), RangeError, "at least");
});

Deno.test("checkedBatchRows() keeps all rows within budget, else spaced rows ends included", () => {
  assertEquals(checkedBatchRows(1, 1e9), [0]);
  assertEquals(checkedBatchRows(16, 1000), Array.from({ length: 16 }, (_, i) => i));
  const rows = checkedBatchRows(256, 8_388_608);
  assertEquals(rows, [0, 36, 73, 109, 146, 182, 219, 255]);
  // Lanes of every vec4 of the batch-packed layout are among them.
  assertEquals(new Set(rows.map((r) => r % 4)).size, 4);
});

Deno.test("defineSpmmMethod() checks the kernel and the feature; spmmKernelOf() reads it", () => {
  const csr = defineSpmmMethod({
    ...META,
    id: "test-csr",
    capabilities: { requires: [], features: ["spmm"] },
    impl: { kernel: "csr" },
  });
  assertEquals(spmmKernelOf(csr), "csr");
  assertThrows(
    () =>
      defineSpmmMethod({
        ...META,
        id: "test-ell",
        capabilities: { requires: [], features: ["spmm"] },
        impl: { kernel: "ell" as "csr" },
      }),
    RangeError,
    "dense, csr, n:m, onnxruntime",
  );
  assertThrows(
    () =>
      defineSpmmMethod({
        ...META,
        id: "test-mlp",
        capabilities: { requires: [], features: ["mlp"] },
        impl: { kernel: "dense" },
      }),
    RangeError,
    "'spmm'",
  );
  assertThrows(
    () => spmmKernelOf({ meta: { ...csr.meta, id: "pruner" }, impl: { target() {} } }),
    TypeError,
    "'pruner'",
  );
});
