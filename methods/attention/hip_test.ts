// HiP attention: the GPU tree search and attend pass against the CPU reference, and the search
// itself on a hand-made input whose best keys are known.
import { assert, assertEquals } from "../../tests/assert.ts";
import { testGpu } from "../../tests/gpu.ts";
import {
  type AttentionInputs,
  type AttentionShape,
  expectMatchesReference,
} from "../../bench/families/attention/mod.ts";
import { hipAttention, hipBlock, hipSearch } from "./hip.ts";

// Inputs of the long decoding test whose searches hold no near-tie (each would excuse all rows).
const SEED = 101;

/** Parameter sets the GPU test runs (also for attention_gpu_test.ts). */
export const HIP_TEST_PARAMS = [
  { density: 0.1, blockSizeQ: 16, blockSizeK: 2, window: 4, representative: "middle" },
  { density: 0.3, blockSizeQ: 5, blockSizeK: 1, window: 0, representative: "first" },
  { density: 0.05, blockSizeQ: 32, blockSizeK: 8, window: 16, representative: "middle" },
  { density: 1, blockSizeQ: 7, blockSizeK: 3, window: 1, representative: "middle" },
];

Deno.test({
  name:
    "hip-attention: GPU tree search and attention equal the CPU reference on odd and even shapes",
  ignore: testGpu === null,
  async fn() {
    await expectMatchesReference(testGpu!, hipAttention.impl, { params: HIP_TEST_PARAMS });
  },
});

Deno.test({
  name: "hip-attention: a long decoding search (seq 7000, k = 350) equals the CPU reference",
  ignore: testGpu === null,
  async fn() {
    // One invocation running the whole search here passed lavapipe's 65535 loop iterations per
    // invocation, which silently ended its loops: most chosen key blocks never reached the mask.
    const shape = { heads: 1, seq: 7000, headDim: 64, causal: true, queries: 16 };
    const params = { density: 0.1, blockSizeQ: 32, blockSizeK: 2, window: 64 };
    assertEquals(hipBlock(shape, { ...params, representative: "middle" }, 0).keep, 350);
    await expectMatchesReference(testGpu!, hipAttention.impl, {
      params: [{ ...params, representative: "middle" }, { ...params, representative: "first" }],
      shapes: [shape],
      seedBase: SEED,
      maxExcusedShare: 0,
    });
  },
});

/** 16 keys whose score against the one query peaks at keys 5 and 13 (head dim 4). */
function twoPeaks(): { shape: AttentionShape; inputs: AttentionInputs } {
  const shape = { heads: 1, seq: 16, headDim: 4, causal: false, queries: 1 };
  const k = new Float32Array(16 * 4);
  for (let j = 0; j < 16; j++) k[j * 4] = 10 - Math.abs(j - (j < 9 ? 5 : 13));
  return { shape, inputs: { q: Float32Array.from([1, 0, 0, 0]), k, v: new Float32Array(16 * 4) } };
}

const PEAKS = { density: 0.125, blockSizeQ: 1, blockSizeK: 1, window: 0 };

Deno.test("hipSearch() finds both peaks by halving the best chunks at their middle keys", () => {
  const { shape, inputs } = twoPeaks();
  const params = { ...PEAKS, representative: "middle" };
  assertEquals(hipBlock(shape, params, 0), {
    firstRow: 0,
    lastRow: 0,
    visible: 16,
    units: 16,
    keep: 2,
  });
  // Chunks [0,8) [8,16) → halves scored at keys 2, 6, 10, 14 → [4,8) [12,16) → ... → keys 5, 13.
  const choice = hipSearch({ shape, inputs, params }, { head: 0, qb: 0 });
  assertEquals([...choice.keys], [5, 13]);
  assertEquals(choice.levels, 3);
  assert(!choice.nearTie);
  const keys = hipAttention.impl.selectKeys({ shape, params, inputs }, 0, 0);
  assertEquals([...keys], [5, 13]);
});

Deno.test("hipSearch() with first keys as representatives ties at the second level and says so", () => {
  const { shape, inputs } = twoPeaks();
  const params = { ...PEAKS, representative: "first" };
  // Level 2 scores keys 4, 6, 12, 14: all 9, so the earliest halves [4,6) [6,8) win (a tie);
  // level 3 scores keys 4–7 as 9, 10, 9, 8: key 5, and key 4 before key 6 (another tie).
  const choice = hipSearch({ shape, inputs, params }, { head: 0, qb: 0 });
  assertEquals([...choice.keys], [4, 5]);
  assert(hipAttention.impl.ambiguousRow!({ shape, params, inputs }, 0, 0));
  // Either tie broken the other way: key 6 for key 4 at level 3, or another half at level 2.
  const alternatives = choice.alternatives.map((a) => [...a].join(","));
  assert(alternatives.includes("5,6"), alternatives.join(" | "));
  assert(alternatives.every((a) => a !== "4,5"), "the CPU's own choice is no alternative");
});

Deno.test("hipBlock() lets causal query blocks see up to their last row, k covering the density", () => {
  const shape = { heads: 1, seq: 100, headDim: 4, causal: true };
  const s = { ...PEAKS, density: 0.1, blockSizeQ: 32, blockSizeK: 4, representative: "middle" };
  // Block 1 holds rows 32–63: 64 visible keys, 16 key blocks, 6.4 → 6 keys → 2 key blocks.
  assertEquals(hipBlock(shape, s, 1), {
    firstRow: 32,
    lastRow: 63,
    visible: 64,
    units: 16,
    keep: 2,
  });
  assertEquals(hipBlock(shape, s, 3).visible, 100);
});
