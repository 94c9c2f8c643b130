// Dynamic Mask Attention's GPU selection and attention against its CPU reference, and its
// selection rule on hand-made values where the right keys are known.
import { assert, assertEquals } from "../../tests/assert.ts";
import { testGpu } from "../../tests/gpu.ts";
import { type AttentionShape, expectMatchesReference } from "../../bench/families/attention/mod.ts";
import {
  dynamicMaskAttention,
  dynamicMaskKeys,
  type DynamicMaskParams,
  valueProjection,
  valueScores,
} from "./dynamic_mask.ts";

/** The parameter sets attention_gpu_test.ts should list for dynamic-mask-attention. */
export const DMA_TEST_PARAMS: DynamicMaskParams[] = [
  { keep: 16, window: 4 },
  { keep: 0, window: 1 },
  { keep: 70, window: 0 },
  { keep: 1000, window: 8 },
];

Deno.test({
  name: "dynamic-mask-attention: GPU output equals the CPU reference on odd and even shapes",
  ignore: testGpu === null,
  async fn() {
    await expectMatchesReference(testGpu!, dynamicMaskAttention.impl, { params: DMA_TEST_PARAMS });
  },
});

Deno.test("dynamicMaskKeys() keeps the keys whose values lie furthest along the head's direction", () => {
  const d = 8;
  const shape: AttentionShape = { heads: 2, seq: 12, headDim: d, causal: true, queries: 2 };
  const w = valueProjection(2, d);
  // Value j of head 1 is w_1 scaled by a known amount: keys 3, 7 and 9 score highest, in order.
  const scale = [0, 1, 2, 9, -5, 3, 0.5, 8, 1.5, 7, -1, 2.5];
  const v = new Float32Array(2 * 12 * d);
  scale.forEach((c, j) => {
    for (let i = 0; i < d; i++) v[(12 + j) * d + i] = c * w[d + i];
  });
  const inputs = { q: new Float32Array(2 * 2 * d), k: new Float32Array(2 * 12 * d), v };
  // Row 0 is position 10: keys 3, 7, 9 and the window 9, 10.
  const keys = (keep: number, window: number, row: number) => [
    ...dynamicMaskKeys({ shape, inputs, params: { keep, window } }, 1, row),
  ];
  assertEquals(keys(3, 2, 0), [3, 7, 9, 10]);
  assertEquals(keys(2, 0, 1), [3, 7]);
  assertEquals(keys(0, 3, 1), [9, 10, 11]);
  // Scores are the kernel's float32 dots, and each head has its own direction.
  assert(valueScores(shape, inputs, 1)[3] > valueScores(shape, inputs, 1)[7]);
  assert(w.subarray(0, d).some((x, i) => x !== w[d + i]));
  assertEquals([...valueProjection(1, d)], [...w.subarray(0, d)]);
});
