// NOSA's GPU selection and attention against its CPU reference, its selection rules on hand-made
// inputs, and the locality that makes offloading cheap: fewer new keys per decoding step than a
// purely query-aware selection of the same budget.
import { assert, assertEquals } from "../../tests/assert.ts";
import { testGpu } from "../../tests/gpu.ts";
import {
  type AttentionShape,
  expectMatchesReference,
  randomInputs,
} from "../../bench/families/attention/mod.ts";
import {
  agnosticKeys,
  chooseQueryAware,
  effectiveQueryBlock,
  kvBytesPerStep,
  newKeysPerStep,
  nosaAttention,
  nosaKeys,
  type NosaParams,
  queryAwareBlocks,
} from "./nosa.ts";

const DEFAULTS: NosaParams = {
  budget: 256,
  queryAwareShare: 0.5,
  blockSize: 32,
  window: 64,
  queryBlock: 1,
};

/** The parameter sets attention_gpu_test.ts should list for nosa-attention. */
export const NOSA_TEST_PARAMS: NosaParams[] = [
  { budget: 64, queryAwareShare: 0.5, blockSize: 8, window: 4, queryBlock: 1 },
  // Purely query-aware, query blocks sharing a selection, blocks not a multiple of 32 keys.
  { budget: 60, queryAwareShare: 1, blockSize: 12, window: 0, queryBlock: 16 },
  // Purely query-agnostic, no init block.
  { budget: 30, queryAwareShare: 0, blockSize: 4, window: 8, queryBlock: 3 },
  { budget: 100, queryAwareShare: 0.3, blockSize: 16, window: 1, queryBlock: 5 },
];

Deno.test({
  name: "nosa-attention: GPU output equals the CPU reference on odd and even shapes",
  ignore: testGpu === null,
  async fn() {
    await expectMatchesReference(testGpu!, nosaAttention.impl, { params: NOSA_TEST_PARAMS });
  },
});

Deno.test("chooseQueryAware() keeps block 0 and the best others, ties to the lower block", () => {
  assertEquals([...chooseQueryAware([-9, 1, 5, 5, 2], 3)], [0, 2, 3]);
  assertEquals([...chooseQueryAware([-9, 1, 5, 5, 2], 2)], [0, 2]);
  assertEquals([...chooseQueryAware([3, 1], 5)], [0, 1]);
  assertEquals([...chooseQueryAware([3, 1], 0)], []);
});

Deno.test("nosaKeys() unions the query's best block, the head's largest-norm key and the window", () => {
  // 1 head, 16 keys of dimension 4 in 4 blocks of 4; one decoding query at position 15.
  const shape: AttentionShape = { heads: 1, seq: 16, headDim: 4, causal: true, queries: 1 };
  const k = new Float32Array(16 * 4).fill(0.1);
  // Block 2 (keys 8..11) points along the query; key 5 has by far the largest norm but is
  // orthogonal to the query.
  for (let j = 8; j < 12; j++) k[j * 4] = 1;
  k[5 * 4 + 1] = 9;
  const q = Float32Array.from([1, 0, 0, 0]);
  const inputs = { q, k, v: new Float32Array(16 * 4) };
  const params = { budget: 9, queryAwareShare: 0.89, blockSize: 4, window: 2, queryBlock: 1 };
  assertEquals(queryAwareBlocks(params), 2); // the init block and one more
  assertEquals(agnosticKeys(params), 1);
  assertEquals(
    [...nosaKeys({ shape, inputs, params }, 0, 0)],
    [0, 1, 2, 3, 5, 8, 9, 10, 11, 14, 15],
  );
});

Deno.test("effectiveQueryBlock() widens query groups only where per-query bitmaps would not fit", () => {
  assertEquals(
    effectiveQueryBlock({ heads: 8, seq: 2048, headDim: 64, causal: true }, DEFAULTS),
    1,
  );
  assertEquals(
    effectiveQueryBlock({ heads: 8, seq: 16384, headDim: 64, causal: true }, DEFAULTS),
    4,
  );
});

Deno.test("newKeysPerStep() counts keys a step selects that the step before did not", () => {
  const shape: AttentionShape = { heads: 2, seq: 20, headDim: 8, causal: true, queries: 3 };
  // Head 0 slides a window of 4 (one new key a step); head 1 swaps two keys each step.
  const keysOf = (head: number, row: number) =>
    head === 0
      ? Int32Array.from({ length: 4 }, (_, i) => 14 + row + i)
      : Int32Array.from(row % 2 === 0 ? [0, 1, 2] : [0, 5, 6]);
  assertEquals(newKeysPerStep(shape, keysOf), (1 + 1 + 2 + 2) / 4);
  assertEquals(kvBytesPerStep(shape, 1.5), 1.5 * 2 * 8 * 4);
});

Deno.test("nosa-attention: a fixed query-agnostic share moves fewer keys per decoding step", () => {
  const shape: AttentionShape = { heads: 2, seq: 1024, headDim: 32, causal: true, queries: 16 };
  const inputs = randomInputs(shape, 3);
  const perStep = (share: number) => {
    const params = { ...DEFAULTS, budget: 128, blockSize: 16, queryAwareShare: share };
    return newKeysPerStep(shape, (head, row) => nosaKeys({ shape, inputs, params }, head, row));
  };
  const [constrained, queryAware] = [perStep(0.25), perStep(1)];
  assert(constrained < queryAware, `${constrained} vs ${queryAware} new keys per step`);
});
