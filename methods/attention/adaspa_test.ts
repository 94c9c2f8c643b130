import { assert, assertEquals } from "../../tests/assert.ts";
import { testGpu } from "../../tests/gpu.ts";
import {
  type AttentionInputs,
  type AttentionShape,
  expectMatchesReference,
} from "../../bench/families/attention/mod.ts";
import { adaspaAttention, adaspaPlan, headBudget, searchStepOf } from "./adaspa.ts";

const PARAMS = [
  { recall: 0.9, searchEvery: 3, blockSize: 16 },
  { recall: 0.5, searchEvery: 1, blockSize: 8 },
  { recall: 0.99, searchEvery: 2, blockSize: 32 },
];

const MULTISTEP_SHAPES: AttentionShape[] = [
  { heads: 6, seq: 130, headDim: 64, causal: false, steps: 3 },
  { heads: 3, seq: 201, headDim: 32, causal: true, steps: 3 },
  { heads: 6, seq: 190, headDim: 64, causal: false, queries: 70, steps: 3 },
];

Deno.test({
  name: "adaspa-attention: GPU output equals the CPU reference on odd and even shapes",
  ignore: testGpu === null,
  async fn() {
    await expectMatchesReference(testGpu!, adaspaAttention.impl, { params: PARAMS });
  },
});

Deno.test({
  name: "adaspa-attention: GPU equals the CPU reference over 3 steps (cached LSE, reuse)",
  ignore: testGpu === null,
  async fn() {
    await expectMatchesReference(testGpu!, adaspaAttention.impl, {
      params: PARAMS,
      shapes: MULTISTEP_SHAPES,
      seedBase: 300,
    });
  },
});

Deno.test("searchStepOf() and adaspaPlan() point each step at the last search step", () => {
  assertEquals([0, 1, 2, 3, 4].map((s) => searchStepOf(s, 3)), [0, 0, 0, 3, 3]);
  const shape = { heads: 8, seq: 16, headDim: 4, causal: false, steps: 4 };
  assertEquals(adaspaPlan(shape, 2).source, [0, 1, 0, 1, 4, 5, 4, 5]);
});

Deno.test("headBudget() keeps the fewest blocks per query block reaching the recall target", () => {
  // Two query blocks over 4 key blocks, own blocks 0 and 1; total mass 2.
  const masses = [Float64Array.of(0.1, 0.6, 0.2, 0.1), Float64Array.of(0.3, 0.3, 0.3, 0.1)];
  // k = 1: 0.1 + 0.3 = 0.4; k = 2: 0.7 + 0.6 = 1.3; k = 3: 0.9 + 0.9 = 1.8; k = 4: 2.
  assertEquals(headBudget(masses, [0, 1], 0.2).count, 1);
  assertEquals(headBudget(masses, [0, 1], 0.6).count, 2);
  assertEquals(headBudget(masses, [0, 1], 0.9).count, 3);
  assertEquals(headBudget(masses, [0, 1], 0.95).count, 4);
  // 1.3 reached exactly at 0.65: no margin, the decision is a tie.
  assert(headBudget(masses, [0, 1], 0.65).margin < 1e-12);
});

/** Two heads: head 0 puts each query block's mass on one far block, head 1 spreads it. */
function concentratedAndSpread(shape: AttentionShape): AttentionInputs {
  const d = shape.headDim;
  const q = new Float32Array(shape.heads * shape.seq * d);
  const k = new Float32Array(shape.heads * shape.seq * d);
  const v = Float32Array.from({ length: k.length }, (_, i) => Math.sin(i));
  for (let row = 0; row < shape.seq; row++) q[row * d] = 8;
  for (let j = 56; j < 64; j++) k[j * d] = 8;
  return { q, k, v };
}

Deno.test("adaspa-attention gives a head with concentrated attention fewer blocks", () => {
  const shape = { heads: 2, seq: 64, headDim: 8, causal: false };
  const inputs = concentratedAndSpread(shape);
  const params = { recall: 0.9, searchEvery: 1, blockSize: 8 };
  const concentrated = adaspaAttention.impl.selectKeys({ shape, params, inputs }, 0, 3);
  const spread = adaspaAttention.impl.selectKeys({ shape, params, inputs }, 1, 3);
  // Head 0: its own block and block 7 hold the mass; head 1 (all logits 0) needs 90% of blocks.
  assertEquals(concentrated.length, 16);
  assertEquals([...concentrated.slice(8)], Array.from({ length: 8 }, (_, j) => 56 + j));
  assertEquals(spread.length, 64);
});

Deno.test({
  name:
    "adaspa-attention: GPU equals the CPU reference at 256 key blocks (past llvmpipe's loop limit)",
  ignore: testGpu === null,
  async fn() {
    // 256 blocks of 4 keys: the budget's cumulative masses sort 256 blocks per query block and
    // the head's budget sums them over 256 query blocks, which in one invocation each looped
    // about 256² times, past the 65,535 iterations llvmpipe runs (every row came out wrong).
    // A high recall makes the planned select keep most of the 256 blocks too.
    await expectMatchesReference(testGpu!, adaspaAttention.impl, {
      params: [{ recall: 0.99, searchEvery: 1, blockSize: 4 }],
      shapes: [{ heads: 1, seq: 1024, headDim: 8, causal: false }],
    });
  },
});
