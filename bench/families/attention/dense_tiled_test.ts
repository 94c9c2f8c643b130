// The tiled dense kernel against the CPU reference, every variant on its own (so the autotune's
// choice never hides a broken one) on odd and even prefill and decoding shapes, causal or not;
// and the autotune's choice, its iteration bound and its names.
import { assert, assertEquals, assertRejects } from "../../../tests/assert.ts";
import { testGpu } from "../../../tests/gpu.ts";
import {
  type AttentionMethod,
  type AttentionShape,
  denseKeys,
  denseTiledIterations,
  denseVariantName,
  denseVariants,
  expectMatchesReference,
  LOOP_LIMIT,
  setupTiledDense,
  TEST_SHAPES,
  windowBand,
} from "./mod.ts";
import type { DenseVariant } from "./_dense_tiled.ts";

function methodWith(variants?: readonly DenseVariant[]): AttentionMethod {
  return {
    setup: (gpu, { shape, inputs }) => setupTiledDense(gpu, { shape, inputs, variants }),
    selectKeys: ({ shape }, _head, row) => denseKeys(shape, row),
    nominalDensity: () => 1,
  };
}

// Shapes whose rows do not fill a row group, a chunk or a tile evenly, with ragged causal ends.
const SHAPES: readonly AttentionShape[] = [
  ...TEST_SHAPES,
  { heads: 2, seq: 333, headDim: 16, causal: true },
  { heads: 1, seq: 97, headDim: 48, causal: false },
  { heads: 3, seq: 129, headDim: 64, causal: true, queries: 7 },
];

for (const headDim of [32, 64, 128]) {
  for (const variant of denseVariants(headDim)) {
    const shapes = SHAPES.filter((s) => s.headDim === headDim || headDim === 32 && s.headDim < 32);
    Deno.test({
      name: `tiled dense ${denseVariantName(variant)} equals the CPU reference (head dims ${
        [...new Set(shapes.map((s) => s.headDim))].join(", ")
      })`,
      ignore: testGpu === null,
      async fn() {
        // Variants are offered per head dim; each shape here runs the variants of its own.
        for (const shape of shapes) {
          const fits = denseVariants(shape.headDim).some((v) =>
            denseVariantName(v) === denseVariantName(variant)
          );
          if (!fits) continue;
          await expectMatchesReference(testGpu!, methodWith([variant]), {
            params: [{}],
            shapes: [shape],
          });
        }
      },
    });
  }
}

Deno.test({
  name: "setupTiledDense() tunes among every candidate and keeps the fastest",
  ignore: testGpu === null,
  async fn() {
    const shape = { heads: 2, seq: 300, headDim: 64, causal: true };
    const n = shape.heads * shape.seq * shape.headDim * 4;
    const buffer = () => testGpu!.device.createBuffer({ size: n, usage: GPUBufferUsage.STORAGE });
    const inputs = { q: buffer(), k: buffer(), v: buffer() };
    // A case this small runs the plain variant untuned unless it is given the candidates.
    const untuned = await setupTiledDense(testGpu!, { shape, inputs });
    assertEquals(Object.keys(untuned.tuning.candidates), []);
    assertEquals(untuned.tuning.chosen, denseVariantName(denseVariants(64)[0]));
    untuned.dispose();
    const kernel = await setupTiledDense(testGpu!, { shape, inputs, variants: denseVariants(64) });
    try {
      const times = kernel.tuning.candidates;
      assertEquals(Object.keys(times).sort(), denseVariants(64).map(denseVariantName).sort());
      assertEquals(kernel.tuning.chosen, Object.entries(times).sort((a, b) => a[1] - b[1])[0][0]);
      assert(kernel.tuning.tuneMs >= Math.max(...Object.values(times)));
    } finally {
      kernel.dispose();
      Object.values(inputs).forEach((b) => b.destroy());
    }
  },
});

Deno.test("tiled dense's iteration bound grows with keys / chunk and refuses what cannot fit", async () => {
  const plain = { rows: 1, chunk: 1, tile: 0, workgroup: 64 };
  const chunked = { rows: 2, chunk: 4, tile: 0, workgroup: 64 };
  const shape = (seq: number) => ({ heads: 1, seq, headDim: 64, causal: true });
  // Dense rows: about one iteration per key (plain) or per chunk, plus a few loop exits.
  const plainCount = denseTiledIterations(shape(1000), plain);
  const chunkedCount = denseTiledIterations(shape(1000), chunked);
  assert(1000 < plainCount && plainCount <= 1000 + 12, `${plainCount}`);
  assert(250 < chunkedCount && chunkedCount <= 250 + 24, `${chunkedCount}`);
  // A window bounds it whatever the length; sinks add theirs.
  const band = denseTiledIterations(shape(70_000), chunked, { window: 256, sinks: 64 });
  assert(64 + 16 < band && band <= 64 + 16 + 30, `${band}`);
  assert(denseTiledIterations(shape(200_000), chunked) <= LOOP_LIMIT);
  assert(denseTiledIterations(shape(70_000), plain) > LOOP_LIMIT);
  const buffer = {} as GPUBuffer;
  await assertRejects(
    () =>
      setupTiledDense({} as never, {
        shape: shape(70_000),
        inputs: { q: buffer, k: buffer, v: buffer },
        variants: [plain],
      }),
    RangeError,
  );
});

Deno.test("denseVariants() offers staged tiles only where two fit workgroup memory", () => {
  assert(denseVariants(64).some((v) => v.tile > 0));
  assert(!denseVariants(256).some((v) => v.tile > 0));
  assert(denseVariants(256).length > 0);
});

function bandedMethod(variant: DenseVariant): AttentionMethod<{ window: number; sinks: number }> {
  return {
    setup: (gpu, { shape, inputs, params }) =>
      setupTiledDense(gpu, { shape, inputs, variants: [variant], ...params }),
    selectKeys: ({ shape, params }, _head, row) => {
      const [lo, hi] = windowBand(shape, params.window, row);
      const sinks = Math.min(params.sinks, lo);
      return Int32Array.from(
        { length: sinks + hi - lo + 1 },
        (_, i) => i < sinks ? i : lo + i - sinks,
      );
    },
    nominalDensity: () => 1,
  };
}

for (const variant of denseVariants(64).filter((v) => v.tile === 0)) {
  Deno.test({
    name: `tiled dense ${
      denseVariantName(variant)
    } over windows and sinks equals the CPU reference`,
    ignore: testGpu === null,
    async fn() {
      // Windows narrower than a row group (1, 3), wider, and sinks inside and beyond the band.
      await expectMatchesReference(testGpu!, bandedMethod(variant), {
        params: [
          { window: 1, sinks: 0 },
          { window: 3, sinks: 2 },
          { window: 16, sinks: 4 },
          { window: 100, sinks: 60 },
        ],
        shapes: [
          { heads: 2, seq: 201, headDim: 64, causal: false },
          { heads: 1, seq: 257, headDim: 64, causal: true },
          { heads: 2, seq: 300, headDim: 64, causal: true, queries: 5 },
        ],
      });
    },
  });
}
