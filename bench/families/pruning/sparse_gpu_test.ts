// The pruned-Linear kernels against their CPU references: dense, CSR and N:M products on odd and
// even shapes, batches 1 to 256, densities 1% to 100%, empty rows, partial N:M groups, a
// 4096×4096 layer (so per-invocation loops over 4096 inputs run), and a chain of layers.
import { assert, assertEquals, assertThrows } from "../../../tests/assert.ts";
import { testGpu } from "../../../tests/gpu.ts";
import { readBack } from "../../gpu/buffers.ts";
import { mulberry32 } from "../../random.ts";
import {
  activationBytes,
  createActivations,
  csrLinearReference,
  denseLinearReference,
  type GpuLinear,
  type LinearCsr,
  type LinearNm,
  linearToCsr,
  linearToNm,
  type LinearWeights,
  nmLinearReference,
  packActivations,
  readActivations,
  unpackActivations,
  uploadActivations,
  uploadCsrLinear,
  uploadDenseLinear,
  uploadNmLinear,
} from "./mod.ts";

/** [rows × cols]: odd, MNIST-MLP and transformer-like widths. */
const SHAPES: [number, number][] = [
  [1, 7],
  [13, 29],
  [100, 300],
  [384, 128],
  [128, 512],
  [300, 784],
  [256, 1024],
];
/** Shapes small enough to run every batch on (the CPU reference dominates the test's time). */
const SMALL = 65536;
const BATCHES = [1, 3, 16, 256];
const LARGE_BATCHES = [1, 16];

function uniformArray(u: () => number, n: number): Float32Array {
  return Float32Array.from({ length: n }, () => 2 * u() - 1);
}

/** A seeded layer keeping each weight with probability `density`, every `emptyEvery`-th row empty. */
function randomLayer(
  seed: number,
  [rows, cols]: [number, number],
  options: { density: number; emptyEvery?: number; bias?: boolean },
): LinearWeights {
  const u = mulberry32(seed);
  const weight = uniformArray(u, rows * cols);
  const mask = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    if (options.emptyEvery && r % options.emptyEvery === options.emptyEvery - 1) continue;
    for (let c = 0; c < cols; c++) mask[r * cols + c] = u() < options.density ? 1 : 0;
  }
  const bias = options.bias === false ? null : uniformArray(u, rows);
  return { weight, mask, rows, cols, bias };
}

/** A seeded N:M mask: N random positions of every group (all of a group narrower than N). */
function nmLayer(seed: number, [rows, cols]: [number, number], n: number, m: number) {
  const layer = randomLayer(seed, [rows, cols], { density: 0 });
  const u = mulberry32(seed + 1);
  const mask = layer.mask as Float32Array;
  for (let r = 0; r < rows; r++) {
    for (let g = 0; g < cols; g += m) {
      const width = Math.min(m, cols - g);
      const order = Array.from({ length: width }, (_, i) => i).sort(() => u() - 0.5);
      for (const i of order.slice(0, Math.min(n, width))) mask[r * cols + g + i] = 1;
    }
  }
  return layer;
}

function abs(a: Float32Array): Float32Array {
  return a.map(Math.abs);
}

/**
 * Fails unless every output is within 1e-4·Σ|w||x| + 1e-5 of the reference: float32 sums in
 * another order differ by about the unit roundoff times the sum of the terms' magnitudes.
 */
function expectClose(got: Float32Array, want: Float32Array, scale: Float32Array, what: string) {
  assertEquals(got.length, want.length, `${what}: length`);
  for (let i = 0; i < want.length; i++) {
    const tolerance = 1e-4 * scale[i] + 1e-5;
    if (!(Math.abs(got[i] - want[i]) <= tolerance)) {
      throw new Error(
        `${what}: output ${i} is ${got[i]}, expected ${want[i]} within ${tolerance}`,
      );
    }
  }
}

/** Runs `layer` on a seeded x and checks it against `reference` (and its magnitude `scale`). */
async function expectMatches(
  layer: GpuLinear,
  batch: number,
  reference: (x: Float32Array) => Float32Array,
  scale: (absX: Float32Array) => Float32Array,
  what: string,
) {
  const x = uniformArray(mulberry32(batch * 7919 + layer.cols), batch * layer.cols);
  const got = await layer.multiply(x, batch);
  expectClose(got, reference(x), scale(abs(x)), `${what} at batch ${batch}`);
}

function absCsr(csr: LinearCsr): LinearCsr {
  return { ...csr, values: abs(csr.values), bias: csr.bias && abs(csr.bias) };
}

function absNm(nm: LinearNm): LinearNm {
  return { ...nm, values: abs(nm.values), bias: nm.bias && abs(nm.bias) };
}

function absLayer(layer: LinearWeights): LinearWeights {
  return { ...layer, weight: abs(layer.weight), bias: layer.bias && abs(layer.bias) };
}

function batchesFor([rows, cols]: [number, number]): number[] {
  return rows * cols <= SMALL ? BATCHES : LARGE_BATCHES;
}

Deno.test("packActivations() and unpackActivations() round-trip the batch-packed layout", () => {
  const x = Float32Array.from({ length: 3 * 5 }, (_, i) => i + 1);
  const packed = packActivations(x, { features: 5, batch: 3 });
  assertEquals(packed.length, 5 * 4);
  // Feature 1 of rows 0, 1, 2, then a zero lane.
  assertEquals([...packed.subarray(4, 8)], [2, 7, 12, 0]);
  assertEquals(unpackActivations(packed, { features: 5, batch: 3 }), x);
  assertEquals(activationBytes(5, 3), 80);
  assertEquals(activationBytes(5, 5), 160);
  assertThrows(() => packActivations(x, { features: 4, batch: 3 }), RangeError, "3×4 = 12");
});

Deno.test("linearToCsr() and linearToNm() keep what the dense reference computes", () => {
  for (const shape of [[1, 7], [13, 29], [9, 30]] as [number, number][]) {
    const x = uniformArray(mulberry32(5), 3 * shape[1]);
    const sparse = randomLayer(11, shape, { density: 0.3, emptyEvery: 4 });
    const csr = linearToCsr(sparse);
    assertEquals(
      csr.rowPtr[csr.rows],
      Array.from(sparse.mask!).filter((v) => v !== 0).length,
    );
    const scale = denseLinearReference(absLayer(sparse), abs(x), { batch: 3 });
    expectClose(
      csrLinearReference(csr, x, { batch: 3, relu: true }),
      denseLinearReference(sparse, x, { batch: 3, relu: true }),
      scale,
      `csr ${shape}`,
    );
    for (const [n, m] of [[2, 4], [4, 8], [1, 4]]) {
      const layer = nmLayer(13, shape, n, m);
      const nm = linearToNm(layer, { n, m });
      assertEquals(nm.slots, Math.ceil(shape[1] / m) * n);
      expectClose(
        nmLinearReference(nm, x, { batch: 3 }),
        denseLinearReference(layer, x, { batch: 3 }),
        denseLinearReference(absLayer(layer), abs(x), { batch: 3 }),
        `${n}:${m} ${shape}`,
      );
    }
  }
});

Deno.test("linearToNm() refuses a mask that is not N:M and a bad N or M", () => {
  const layer = randomLayer(3, [4, 12], { density: 1 });
  assertThrows(
    () => linearToNm(layer, { n: 2, m: 4 }),
    RangeError,
    "each group of 4 inputs must keep at most 2: row 0, inputs 0…3",
  );
  // The shorter last group (inputs 8…9 of 10) may keep both.
  const partial = nmLayer(3, [4, 10], 2, 4);
  assertEquals(linearToNm(partial, { n: 2, m: 4 }).slots, 6);
  const over = { ...partial, mask: Float32Array.from(partial.mask!) };
  over.mask[1 * 10 + 4] = over.mask[1 * 10 + 5] = over.mask[1 * 10 + 6] = 1;
  assertThrows(() => linearToNm(over, { n: 2, m: 4 }), RangeError, "row 1, inputs 4…7");
  assertThrows(() => linearToNm(partial, { n: 5, m: 4 }), RangeError, "1 ≤ N ≤ M ≤ 256");
  assertThrows(() => linearToNm(partial, { n: 0, m: 4 }), RangeError, "got N = 0, M = 4");
  assertThrows(
    () => linearToCsr({ ...partial, rows: 5 }),
    RangeError,
    "a 5×10 layer needs 50 of them: got 40",
  );
});

Deno.test({
  name: "uploadDenseLinear() matches denseLinearReference() on odd shapes and batches",
  ignore: testGpu === null,
  async fn() {
    const device = testGpu!.device;
    for (const [i, shape] of SHAPES.entries()) {
      for (const density of [0.5, 1]) {
        const weights = randomLayer(100 + i, shape, { density, bias: i % 2 === 0 });
        const relu = i % 3 === 1;
        const layer = await uploadDenseLinear(device, weights, { relu });
        try {
          assertEquals(layer.weightBytes, Math.ceil(shape[0] / 4) * 4 * shape[1] * 4);
          for (const batch of batchesFor(shape)) {
            await expectMatches(
              layer,
              batch,
              (x) => denseLinearReference(weights, x, { batch, relu }),
              (ax) => denseLinearReference(absLayer(weights), ax, { batch }),
              `dense ${shape} density ${density}`,
            );
          }
        } finally {
          layer.dispose();
        }
      }
    }
  },
});

Deno.test({
  name: "uploadCsrLinear() matches csrLinearReference() at densities 1% to 100%, empty rows too",
  ignore: testGpu === null,
  async fn() {
    const device = testGpu!.device;
    for (const [i, shape] of SHAPES.entries()) {
      for (const density of [0.01, 0.1, 0.5, 1]) {
        const weights = randomLayer(200 + i, shape, {
          density,
          emptyEvery: density < 1 ? 5 : undefined,
          bias: density !== 0.1,
        });
        const csr = linearToCsr(weights);
        const relu = density === 0.5;
        const layer = await uploadCsrLinear(device, weights, { relu });
        try {
          assertEquals(layer.storedWeights, csr.values.length);
          assertEquals(layer.weightBytes >= 8 * csr.values.length + 4 * (shape[0] + 1), true);
          for (const batch of batchesFor(shape)) {
            await expectMatches(
              layer,
              batch,
              (x) => csrLinearReference(csr, x, { batch, relu }),
              (ax) => csrLinearReference(absCsr(csr), ax, { batch }),
              `csr ${shape} density ${density}`,
            );
          }
        } finally {
          layer.dispose();
        }
      }
    }
  },
});

Deno.test({
  name: "uploadNmLinear() matches nmLinearReference() for 2:4, 4:8 and 1:4, partial groups too",
  ignore: testGpu === null,
  async fn() {
    const device = testGpu!.device;
    // 7, 29 and 300 are not multiples of 8; 7 and 29 not of 4.
    for (const [i, shape] of SHAPES.entries()) {
      for (const [n, m] of [[2, 4], [4, 8], [1, 4]]) {
        const weights = nmLayer(300 + i, shape, n, m);
        const nm = linearToNm(weights, { n, m });
        const relu = n === 2;
        const layer = await uploadNmLinear(device, weights, { n, m, relu });
        try {
          assertEquals(layer.storedWeights, shape[0] * Math.ceil(shape[1] / m) * n);
          for (const batch of batchesFor(shape)) {
            await expectMatches(
              layer,
              batch,
              (x) => nmLinearReference(nm, x, { batch, relu }),
              (ax) => nmLinearReference(absNm(nm), ax, { batch }),
              `${n}:${m} ${shape}`,
            );
          }
        } finally {
          layer.dispose();
        }
      }
    }
  },
});

Deno.test({
  name: "every format matches its reference on a 4096×4096 layer at batches 1 and 16",
  ignore: testGpu === null,
  async fn() {
    const device = testGpu!.device;
    const shape: [number, number] = [4096, 4096];
    const check = async (
      layer: GpuLinear,
      ref: (x: Float32Array, batch: number) => Float32Array,
      scale: (ax: Float32Array, batch: number) => Float32Array,
      what: string,
    ) => {
      try {
        for (const batch of LARGE_BATCHES) {
          await expectMatches(layer, batch, (x) => ref(x, batch), (ax) => scale(ax, batch), what);
        }
      } finally {
        layer.dispose();
      }
    };
    const nmWeights = nmLayer(400, shape, 2, 4);
    const nm = linearToNm(nmWeights, { n: 2, m: 4 });
    await check(
      await uploadNmLinear(device, nmWeights, { n: 2, m: 4 }),
      (x, batch) => nmLinearReference(nm, x, { batch }),
      (ax, batch) => nmLinearReference(absNm(nm), ax, { batch }),
      "2:4 4096²",
    );
    // The dense kernel runs the 2:4 layer's effective weights.
    await check(
      await uploadDenseLinear(device, nmWeights, { relu: true }),
      (x, batch) => nmLinearReference(nm, x, { batch, relu: true }),
      (ax, batch) => nmLinearReference(absNm(nm), ax, { batch }),
      "dense 4096²",
    );
    for (const density of [0.01, 0.6]) {
      const weights = randomLayer(401, shape, { density, emptyEvery: 97 });
      const csr = linearToCsr(weights);
      await check(
        await uploadCsrLinear(device, weights),
        (x, batch) => csrLinearReference(csr, x, { batch }),
        (ax, batch) => csrLinearReference(absCsr(csr), ax, { batch }),
        `csr 4096² density ${density}`,
      );
    }
  },
});

Deno.test({
  name: "dense, CSR and N:M layers chain on the device with one submit",
  ignore: testGpu === null,
  async fn() {
    const device = testGpu!.device;
    const first = randomLayer(500, [300, 784], { density: 0.5 });
    const second = randomLayer(501, [101, 300], { density: 0.1 });
    const third = nmLayer(502, [10, 101], 2, 4);
    const layers = [
      await uploadDenseLinear(device, first, { relu: true }),
      await uploadCsrLinear(device, second, { relu: true }),
      await uploadNmLinear(device, third, { n: 2, m: 4 }),
    ];
    const batch = 13;
    const x = uniformArray(mulberry32(9), batch * 784);
    const buffers = [
      uploadActivations(device, x, { features: 784, batch }),
      ...layers.map((l) => createActivations(device, { features: l.rows, batch })),
    ];
    try {
      const encoder = device.createCommandEncoder();
      layers.forEach((l, i) => l.encode(encoder, buffers[i], buffers[i + 1], batch));
      device.queue.submit([encoder.finish()]);
      const got = await readActivations(device, buffers[3], { features: 10, batch });
      let want = x, scale = abs(x);
      for (const [i, w] of [first, second, third].entries()) {
        want = denseLinearReference(w, want, { batch, relu: i < 2 });
        scale = denseLinearReference(absLayer(w), scale, { batch });
      }
      expectClose(got, want, scale, "chain");
      // Lanes past the 13th row stay zero through the chain.
      const raw = new Float32Array(await readBack(device, buffers[2], activationBytes(101, batch)));
      for (let f = 0; f < 101; f++) {
        assertEquals([...raw.subarray(f * 16 + 13, f * 16 + 16)], [0, 0, 0]);
      }
    } finally {
      for (const b of buffers) b.destroy();
      for (const l of layers) l.dispose();
    }
  },
});

Deno.test({
  name: "GpuLinear.encode() refuses buffers too small for the batch and in-place products",
  ignore: testGpu === null,
  async fn() {
    const device = testGpu!.device;
    const layer = await uploadCsrLinear(device, randomLayer(600, [13, 29], { density: 0.5 }));
    const input = createActivations(device, { features: 29, batch: 4 });
    const output = createActivations(device, { features: 13, batch: 4 });
    try {
      const encoder = device.createCommandEncoder();
      assertThrows(
        () => layer.encode(encoder, input, output, 5),
        RangeError,
        "its input must hold 29 features at batch 5 (928 bytes): got 464",
      );
      assertThrows(() => layer.encode(encoder, input, input, 1), RangeError, "different buffers");
      assertThrows(() => layer.encode(encoder, input, output, 0), RangeError, "positive integer");
      layer.encode(encoder, input, output, 4);
      encoder.finish();
      assert(layer.compileMs >= 0);
    } finally {
      input.destroy();
      output.destroy();
      layer.dispose();
    }
  },
});
