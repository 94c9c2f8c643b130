import { assert, assertEquals, assertThrows } from "../../../tests/assert.ts";
import { compileWat, renderWasmModule, wasmTarget } from "../../nn/build_gemm_wasm.ts";
import { Linear } from "../../nn/layers.ts";
import { mulberry32 } from "../../random.ts";
import {
  type CpuMatmulOptions,
  csrMatmul,
  csrMatmulReference,
  CsrMatrix,
  denseMatmul,
  DenseMatrix,
  type MaskedWeight,
  nmMatmul,
  nmMatmulReference,
  NmMatrix,
  sparseCpuMemoryBytes,
} from "./mod.ts";

// 19 pads to 20 columns: the kernels' 16- and 8-column blocks and a 4-column tail in one call.
const BATCHES = [1, 3, 16, 19, 256];
// The float32 kernels against float64 sums: within this share of Σ|w·x| of each output, which
// bounds the rounding of any summation order over those terms at these lengths.
const TOLERANCE = 1e-5;

/** A [rows × cols] weight keeping each entry with probability `density`, values in ±0.5. */
function randomWeight(u: () => number, shape: [number, number], density: number): MaskedWeight {
  const [rows, cols] = shape;
  const data = new Float32Array(rows * cols), mask = new Float32Array(rows * cols);
  for (let i = 0; i < data.length; i++) {
    if (u() < density) {
      mask[i] = 1;
      data[i] = u() - 0.5;
    } else {
      data[i] = density < 1 ? u() - 0.5 : 0; // pruned weights keep their data, as Param does
    }
  }
  return { data, mask, shape };
}

/**
 * A weight whose every group of m consecutive inputs keeps at most n (the last, shorter group
 * at most its width), about one group in five keeping fewer.
 */
function nmWeight(u: () => number, shape: [number, number], n: number, m: number): MaskedWeight {
  const [rows, cols] = shape;
  const data = Float32Array.from({ length: rows * cols }, () => u() - 0.5);
  const mask = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let g = 0; g < cols; g += m) {
      const width = Math.min(m, cols - g);
      const order = Array.from({ length: width }, (_, i) => i).sort(() => u() - 0.5);
      const keep = u() < 0.2 ? Math.floor(u() * Math.min(n, width)) : Math.min(n, width);
      for (const i of order.slice(0, keep)) mask[r * cols + g + i] = 1;
    }
  }
  return { data, mask, shape };
}

function randomX(u: () => number, length: number): Float32Array {
  return Float32Array.from({ length }, () => 2 * u() - 1);
}

/** y = x·(data ⊙ mask)ᵀ over every entry in float64, with Σ|w·x| of each output for tolerances. */
function denseProduct(weight: MaskedWeight, x: Float32Array, batch: number) {
  const [rows, cols] = weight.shape, { data, mask } = weight;
  const y = new Float64Array(batch * rows), scale = new Float64Array(batch * rows);
  for (let b = 0; b < batch; b++) {
    for (let o = 0; o < rows; o++) {
      let sum = 0, abs = 0;
      for (let k = 0; k < cols; k++) {
        const t = data[o * cols + k] * (mask ? mask[o * cols + k] : 1) * x[b * cols + k];
        sum += t;
        abs += Math.abs(t);
      }
      y[b * rows + o] = sum;
      scale[b * rows + o] = abs;
    }
  }
  return { y, scale };
}

function assertClose(
  got: Float32Array,
  want: ArrayLike<number>,
  scale: ArrayLike<number>,
  label: string,
): void {
  assertEquals(got.length, want.length, `${label}: length`);
  for (let i = 0; i < got.length; i++) {
    const error = Math.abs(got[i] - want[i]);
    if (!(error <= TOLERANCE * scale[i] + 1e-7)) {
      throw new Error(
        `${label}: output ${i} is ${got[i]}, expected ${want[i]} (error ${error}, Σ|w·x| ${
          scale[i]
        })`,
      );
    }
  }
}

Deno.test("csrMatmul() and denseMatmul() match the references on odd shapes, densities and batches", () => {
  const u = mulberry32(7);
  const shapes: [number, number][] = [[1, 7], [13, 29], [300, 784], [100, 300], [384, 128], [
    128,
    512,
  ]];
  for (const shape of shapes) {
    for (const density of [0.01, 0.1, 0.5, 1]) {
      const weight = randomWeight(u, shape, density);
      const csr = CsrMatrix.fromMasked(weight), dense = DenseMatrix.fromMasked(weight);
      for (const batch of BATCHES) {
        const label = `${shape.join("×")} at ${density}, batch ${batch}`;
        const x = randomX(u, batch * shape[1]);
        const { y, scale } = denseProduct(weight, x, batch);
        const reference = csrMatmulReference(csr, x, { batch });
        assertClose(reference, y, scale, `CSR reference ${label}`);
        assertClose(csrMatmul(csr, x, { batch }), reference, scale, `CSR ${label}`);
        assertClose(denseMatmul(dense, x, { batch }), y, scale, `dense ${label}`);
      }
    }
  }
});

Deno.test("csrMatmul() matches its reference on a 4096 × 4096 layer at 1% density", () => {
  const u = mulberry32(8);
  const weight = randomWeight(u, [4096, 4096], 0.01);
  const csr = CsrMatrix.fromMasked(weight);
  for (const batch of [1, 3, 16]) {
    const x = randomX(u, batch * 4096);
    const reference = csrMatmulReference(csr, x, { batch });
    // Σ|w·x| from the CSR entries alone: the dense pass over 16.7M weights is done once.
    const scale = csrMatmulReference(
      new CsrMatrix({ ...csr, values: csr.values.map(Math.abs) }),
      x.map(Math.abs),
      { batch },
    );
    if (batch === 1) assertClose(reference, denseProduct(weight, x, 1).y, scale, "reference");
    assertClose(csrMatmul(csr, x, { batch }), reference, scale, `batch ${batch}`);
  }
});

Deno.test("nmMatmul() matches its reference and the dense product at 2:4, 4:8, 1:4 and more", () => {
  const u = mulberry32(9);
  const shapes: [number, number][] = [
    [1, 7],
    [13, 29],
    [5, 3],
    [100, 300],
    [384, 128],
    [
      300,
      784,
    ],
    [128, 512],
    [7, 33],
  ];
  const patterns: [number, number][] = [[2, 4], [4, 8], [1, 4], [3, 8], [1, 2], [5, 16], [4, 4]];
  for (const [n, m] of patterns) {
    for (const shape of shapes) {
      const weight = nmWeight(u, shape, n, m);
      const nm = NmMatrix.fromMasked(weight, { n, m });
      // The three patterns the pruning targets use run every batch; the others up to 16.
      const batches = [2, 4].includes(m) && n <= 2 || (n === 4 && m === 8) ? BATCHES : [1, 3, 16];
      for (const batch of batches) {
        const label = `${n}:${m} ${shape.join("×")}, batch ${batch}`;
        const x = randomX(u, batch * shape[1]);
        const { y, scale } = denseProduct(weight, x, batch);
        const reference = nmMatmulReference(nm, x, { batch });
        assertClose(reference, y, scale, `N:M reference ${label}`);
        assertClose(nmMatmul(nm, x, { batch }), reference, scale, `N:M ${label}`);
      }
    }
  }
});

Deno.test("the kernels handle empty rows, an all-pruned layer and zero sizes", () => {
  const u = mulberry32(10);
  const weight = nmWeight(u, [9, 21], 2, 4);
  for (const r of [0, 4, 5, 8]) weight.mask!.fill(0, r * 21, (r + 1) * 21);
  const empty: MaskedWeight = {
    data: new Float32Array(9 * 21),
    mask: new Float32Array(9 * 21),
    shape: [9, 21],
  };
  const bias = randomX(u, 9);
  for (const w of [weight, empty]) {
    const csr = CsrMatrix.fromMasked(w), nm = NmMatrix.fromMasked(w, { n: 2, m: 4 });
    for (const batch of [1, 3, 16]) {
      const x = randomX(u, batch * 21);
      const { y, scale } = denseProduct(w, x, batch);
      const withBias = Float64Array.from(y, (v, i) => v + bias[i % 9]);
      assertClose(csrMatmul(csr, x, { batch, bias }), withBias, scale, `CSR batch ${batch}`);
      assertClose(nmMatmul(nm, x, { batch, bias }), withBias, scale, `N:M batch ${batch}`);
      for (const r of [0, 4, 5, 8]) {
        assertEquals(csrMatmul(csr, x, { batch })[r], 0);
        assertEquals(nmMatmul(nm, x, { batch })[r], 0);
      }
    }
  }
  assertEquals(CsrMatrix.fromMasked(empty).nnz, 0);
  // No rows, no inputs, no batch.
  const none = { data: new Float32Array(0), mask: null, shape: [0, 5] };
  assertEquals(csrMatmul(CsrMatrix.fromMasked(none), new Float32Array(10)).length, 0);
  const noInputs = { data: new Float32Array(0), mask: null, shape: [3, 0] };
  const ones = new Float32Array([1, 1, 1]);
  assertEquals([...csrMatmul(CsrMatrix.fromMasked(noInputs), new Float32Array(0), { batch: 2 })], [
    0,
    0,
    0,
    0,
    0,
    0,
  ]);
  assertEquals([...nmMatmul(NmMatrix.fromMasked(noInputs, { n: 1, m: 4 }), new Float32Array(0), {
    batch: 1,
    bias: ones,
  })], [1, 1, 1]);
  assertEquals([...denseMatmul(DenseMatrix.fromMasked(noInputs), new Float32Array(0), {
    batch: 5,
    bias: ones,
  })], new Array(15).fill(1));
  assertEquals(csrMatmul(CsrMatrix.fromMasked(weight), new Float32Array(0)).length, 0);
});

Deno.test("the kernels compute a pruned Linear layer's forward pass", () => {
  const u = mulberry32(11);
  const layer = new Linear("fc", 37, 19);
  layer.weight.data.set(randomX(u, 37 * 19));
  layer.bias!.data.set(randomX(u, 19));
  const x = randomX(u, 5 * 37);
  const nmMask = nmWeight(u, [19, 37], 2, 4).mask!;
  for (const mask of [randomWeight(u, [19, 37], 0.3).mask!, nmMask]) {
    layer.weight.setMask(mask);
    const want = layer.forward(x, 5);
    const { scale } = denseProduct(layer.weight, x, 5);
    const bias = layer.bias!.data;
    assertClose(csrMatmul(CsrMatrix.fromMasked(layer.weight), x, { bias }), want, scale, "CSR");
    assertClose(
      denseMatmul(DenseMatrix.fromMasked(layer.weight), x, { bias }),
      want,
      scale,
      "dense",
    );
    if (mask === nmMask) {
      const nm = NmMatrix.fromMasked(layer.weight, { n: 2, m: 4 });
      assertClose(nmMatmul(nm, x, { bias }), want, scale, "N:M");
    }
  }
});

Deno.test("the kernels are deterministic, write into 'out' and reuse their memory", () => {
  const u = mulberry32(12);
  const weight = randomWeight(u, [200, 300], 0.1);
  const csr = CsrMatrix.fromMasked(weight), dense = DenseMatrix.fromMasked(weight);
  const nm = NmMatrix.fromMasked(nmWeight(u, [200, 300], 2, 4), { n: 2, m: 4 });
  for (const batch of [1, 16]) {
    const x = randomX(u, batch * 300);
    const runs: [string, (options: CpuMatmulOptions) => Float32Array][] = [
      ["CSR", (o) => csrMatmul(csr, x, o)],
      ["N:M", (o) => nmMatmul(nm, x, o)],
      ["dense", (o) => denseMatmul(dense, x, o)],
    ];
    for (const [name, run] of runs) {
      const first = run({});
      const bytes = sparseCpuMemoryBytes();
      const out = new Float32Array(batch * 200);
      assert(run({ out }) === out, `${name} returns 'out'`);
      assertEquals(out, first, `${name} batch ${batch} repeats bit for bit`);
      assertEquals(sparseCpuMemoryBytes(), bytes, `${name} batch ${batch} grows no memory`);
    }
  }
});

Deno.test("the formats count their bytes: values and indices", () => {
  const u = mulberry32(13);
  const weight = nmWeight(u, [8, 18], 2, 4);
  const csr = CsrMatrix.fromMasked(weight);
  assertEquals(csr.bytes, csr.nnz * 8 + 9 * 4);
  // 18 inputs: 5 groups of 4 (the last of 2), 10 slots a row, 2-bit indices: 3 bytes a row.
  const nm24 = NmMatrix.fromMasked(weight, { n: 2, m: 4 });
  assertEquals([nm24.slots, nm24.indexBits, nm24.indexRowBytes], [10, 2, 3]);
  assertEquals([nm24.valueBytes, nm24.indexBytes, nm24.bytes], [320, 24, 344]);
  // 4:8 on 18 inputs: 3 groups, 12 slots, 4-bit indices: 6 bytes a row.
  const nm48 = NmMatrix.fromMasked(weight, { n: 4, m: 8 });
  assertEquals([nm48.slots, nm48.indexBits, nm48.bytes], [12, 4, 8 * 12 * 4 + 8 * 6]);
  assertEquals(DenseMatrix.fromMasked(weight).bytes, 8 * 18 * 4);
  // Slots hold the kept weights in column order, then zeros.
  const one = NmMatrix.fromMasked({
    data: new Float32Array([1, 2, 3, 4, 5, 6]),
    mask: new Float32Array([0, 1, 1, 0, 0, 1]),
    shape: [1, 6],
  }, { n: 2, m: 4 });
  assertEquals([...one.values], [2, 3, 6, 0]);
  assertEquals([0, 1, 2, 3].map((j) => one.indexAt(0, j)), [1, 2, 1, 0]);
});

Deno.test("NmMatrix.fromMasked() refuses a mask that is not N:M, and bad patterns", () => {
  const weight = {
    data: new Float32Array(2 * 10).fill(1),
    mask: new Float32Array(2 * 10),
    shape: [2, 10],
  };
  weight.mask.set([1, 1, 0, 0, 1, 1, 1, 0, 1, 0], 10);
  assertThrows(
    () => NmMatrix.fromMasked(weight, { n: 2, m: 4 }),
    RangeError,
    "Cannot store the mask as 2:4 as every group of 4 inputs must keep at most 2: row 1, inputs 4…7 keep 3",
  );
  assertEquals(NmMatrix.fromMasked(weight, { n: 3, m: 4 }).slots, 9);
  assertThrows(
    () => NmMatrix.fromMasked({ ...weight, mask: null }, { n: 1, m: 4 }),
    RangeError,
    "at most 1: row 0, inputs 0…3 keep 4",
  );
  for (const [n, m] of [[0, 4], [5, 4], [2, 17], [1.5, 4]]) {
    assertThrows(
      () => NmMatrix.fromMasked(weight, { n, m }),
      RangeError,
      `Cannot use ${n}:${m} as N:M needs integers 1 ≤ N ≤ M ≤ 16`,
    );
  }
  assertThrows(
    () =>
      new NmMatrix({
        rows: 1,
        cols: 6,
        n: 1,
        m: 4,
        values: new Float32Array(2),
        indices: new Uint8Array([0b1100]),
      }),
    RangeError,
    "an in-group index must be below its group's width 2: row 0, slot 1 has 3",
  );
});

Deno.test("the matrices and run functions check their inputs", () => {
  const weight = { data: new Float32Array(6), mask: null, shape: [2, 3] };
  assertThrows(
    () => CsrMatrix.fromMasked({ ...weight, data: new Float32Array(5) }),
    RangeError,
    "Cannot build a CSR matrix as 'data' must hold rows × cols = 6 values: got 5",
  );
  assertThrows(
    () => DenseMatrix.fromMasked({ ...weight, mask: new Float32Array(2) }),
    RangeError,
    "'mask' must hold rows × cols = 6 values: got 2",
  );
  assertThrows(
    () => CsrMatrix.fromMasked({ ...weight, shape: [6] }),
    RangeError,
    "the weight must be a matrix [rows, cols]: got shape [6]",
  );
  assertThrows(
    () =>
      new CsrMatrix({
        rows: 1,
        cols: 3,
        rowPtr: new Int32Array([0, 1]),
        colIdx: new Int32Array([3]),
        values: new Float32Array(1),
      }),
    RangeError,
    "every column must be in 0…2: entry 0 has 3",
  );
  const csr = CsrMatrix.fromMasked(weight);
  assertThrows(
    () => csrMatmul(csr, new Float32Array(4)),
    RangeError,
    "Cannot multiply by the 2 × 3 CSR matrix as x must hold a whole number of rows of 3: got 4 values",
  );
  assertThrows(
    () => csrMatmul(csr, new Float32Array(6), { batch: 3 }),
    RangeError,
    "x must hold batch × cols = 9 values: got 6",
  );
  assertThrows(
    () => csrMatmulReference(csr, new Float32Array(3), { bias: new Float32Array(3) }),
    RangeError,
    "'bias' must hold 2 values: got 3",
  );
  assertThrows(
    () =>
      denseMatmul(DenseMatrix.fromMasked(weight), new Float32Array(6), {
        out: new Float32Array(2),
      }),
    RangeError,
    "'out' must hold batch × rows = 4 values: got 2",
  );
});

Deno.test("_sparse_cpu_wasm.ts holds the compiled bytes of sparse_cpu.wat", async () => {
  const target = wasmTarget("bench/families/pruning/sparse_cpu.wat");
  const source = await Deno.readTextFile(new URL("sparse_cpu.wat", import.meta.url));
  const committed = await Deno.readTextFile(new URL("_sparse_cpu_wasm.ts", import.meta.url));
  assertEquals(
    committed,
    renderWasmModule(target, await compileWat("sparse_cpu.wat", source)),
    "run bench/nn/build_gemm_wasm.ts",
  );
});
