// ASA (Video-BLADE) against its CPU reference on the GPU, on odd and even prefill and decoding
// shapes and at 257 key blocks, and its mask generation by hand: the seeded samples, the
// threshold-and-clamp budget, and the prober, which with every token sampled is the max-pooled
// dense attention map the paper approximates.
import { assert, assertAlmostEquals, assertEquals, assertThrows } from "../../tests/assert.ts";
import { testGpu } from "../../tests/gpu.ts";
import {
  assertIterationBounds,
  type AttentionShape,
  blockGeometry,
  expectMatchesReference,
  queryCount,
  queryOffset,
  randomInputs,
} from "../../bench/families/attention/mod.ts";
import { asaAttention, asaBudget, asaChoices, type AsaParams, asaSamples } from "./asa.ts";
import { asaIterations, NO_SAMPLE } from "./asa_kernel.ts";

const DEFAULTS: AsaParams = {
  threshold: 0.95,
  samples: 8,
  minRetain: 0.05,
  maxRetain: 1,
  blockSize: 64,
};

Deno.test("asaSamples() draws distinct tokens of each block, ascending, seeded per head", () => {
  const shape = { heads: 2, seq: 45, headDim: 4, causal: true };
  const { queries, keys } = asaSamples(shape, 16, 6);
  // Blocks of 16, 16 and 13 keys: six samples each, all inside the block.
  for (let h = 0; h < 2; h++) {
    for (let kb = 0; kb < 3; kb++) {
      const drawn = [...keys.subarray((h * 3 + kb) * 6, (h * 3 + kb + 1) * 6)];
      assert(drawn.every((j) => j >= kb * 16 && j < Math.min(45, kb * 16 + 16)), `${drawn}`);
      assert(drawn.every((j, i) => i === 0 || j > drawn[i - 1]), `${drawn} ascending, distinct`);
    }
  }
  // Prefill: the query blocks are the key blocks' rows; heads draw apart, runs repeat.
  assertEquals(queries.length, keys.length);
  assert(keys.subarray(0, 18).join() !== keys.subarray(18, 36).join(), "heads differ");
  assertEquals(asaSamples(shape, 16, 6).keys.join(), keys.join());
  // More samples than a block holds: every token of it once, then no-sample slots.
  const short = asaSamples({ heads: 1, seq: 5, headDim: 4, causal: false }, 4, 6).keys;
  assertEquals([...short], [0, 1, 2, 3, NO_SAMPLE, NO_SAMPLE, 4, ...Array(5).fill(NO_SAMPLE)]);
  // Decoding: 3 queries form one short query block of rows 0..2.
  const decoding = asaSamples({ heads: 1, seq: 40, headDim: 4, causal: true, queries: 3 }, 16, 4);
  assertEquals([...decoding.queries], [0, 1, 2, NO_SAMPLE]);
});

Deno.test("asaBudget() keeps the fewest blocks reaching the threshold, within the retention range", () => {
  const scores = [0.1, 0.5, 0.3, 0.1];
  const free = { minRetain: 0, maxRetain: 1 };
  // Sorted 0.5, 0.3, 0.1, 0.1 (total 1): 0.8 at two blocks, 0.9 at three.
  assertEquals(asaBudget(scores, 4, { threshold: 0.7, ...free }).keep, 2);
  assertEquals(asaBudget(scores, 4, { threshold: 0.85, ...free }).keep, 3);
  assertEquals(asaBudget(scores, 4, { threshold: 1, ...free }).keep, 4);
  // Unnormalised importances give the same count: the threshold is a share of the row's total.
  assertEquals(asaBudget(scores.map((x) => 7 * x), 4, { threshold: 0.85, ...free }).keep, 3);
  // Clamped: at least ⌊0.75 · 4⌋ = 3, at most ⌊0.25 · 4⌋ = 1 (never below one).
  assertEquals(asaBudget(scores, 4, { threshold: 0.5, minRetain: 0.75, maxRetain: 1 }).keep, 3);
  assertEquals(asaBudget(scores, 4, { threshold: 1, minRetain: 0, maxRetain: 0.25 }).keep, 1);
  assertEquals(asaBudget(scores, 4, { threshold: 0.01, minRetain: 0, maxRetain: 0 }).keep, 1);
  // Only the visible blocks count (causal rows see a prefix of them).
  assertEquals(asaBudget(scores, 2, { threshold: 0.8, ...free }).keep, 1);
  // The margin is the distance to the threshold of the sums either side, over the total.
  assertAlmostEquals(asaBudget(scores, 4, { threshold: 0.75, ...free }).margin, 0.05, 1e-6);
});

/** Softmax over every visible key of a row, in float64. */
function denseProbabilities(
  shape: AttentionShape,
  inputs: ReturnType<typeof randomInputs>,
  head: number,
  row: number,
): Float64Array {
  const d = shape.headDim;
  const last = shape.causal ? queryOffset(shape) + row : shape.seq - 1;
  const logits = new Float64Array(last + 1);
  for (let j = 0; j <= last; j++) {
    let dot = 0;
    for (let i = 0; i < d; i++) {
      dot += inputs.q[(head * queryCount(shape) + row) * d + i] *
        inputs.k[(head * shape.seq + j) * d + i];
    }
    logits[j] = dot / Math.sqrt(d);
  }
  const top = Math.max(...logits);
  const weights = logits.map((s) => Math.exp(s - top));
  const sum = weights.reduce((a, b) => a + b, 0);
  return weights.map((w) => w / sum);
}

Deno.test("ASA's prober with every token sampled is the max-pooled dense attention map", () => {
  for (
    const shape of [
      { heads: 2, seq: 75, headDim: 16, causal: true },
      { heads: 1, seq: 70, headDim: 8, causal: false },
      { heads: 1, seq: 90, headDim: 8, causal: true, queries: 5 },
    ] as AttentionShape[]
  ) {
    const inputs = randomInputs(shape, 5);
    const block = 16;
    const choices = asaChoices(shape, inputs, { ...DEFAULTS, blockSize: block, samples: block });
    const geometry = blockGeometry(shape, block);
    for (let h = 0; h < shape.heads; h++) {
      for (let qb = 0; qb < geometry.queryBlocks; qb++) {
        const pooled = new Float64Array(geometry.visible(qb));
        const last = Math.min(queryCount(shape), (qb + 1) * block);
        for (let row = qb * block; row < last; row++) {
          denseProbabilities(shape, inputs, h, row).forEach((p, j) => {
            const kb = Math.floor(j / block);
            pooled[kb] = Math.max(pooled[kb], p);
          });
        }
        const got = choices[h][qb].scores;
        pooled.forEach((p, kb) => {
          const where = `${JSON.stringify(shape)} head ${h} qb ${qb} kb ${kb}`;
          assert(Math.abs(got[kb] - p) <= 1e-5 * p + 1e-7, `${where}: ${got[kb]} vs ${p}`);
        });
      }
    }
  }
});

Deno.test("ASA's masks follow the content: other inputs, other blocks, same shape", () => {
  const shape = { heads: 1, seq: 640, headDim: 16, causal: true };
  const params = { ...DEFAULTS, threshold: 0.5 };
  const [a, b] = [randomInputs(shape, 1), randomInputs(shape, 2)].map((inputs) =>
    asaAttention.impl.selectKeys({ shape, inputs, params }, 0, 639).join()
  );
  assert(a !== b, "two inputs chose the same keys for the last row");
});

Deno.test("asaIterations() bounds each pass; a prober past llvmpipe's loop limit is refused", () => {
  // The full profile's largest case: decoding at 32768 keys (512 blocks of 64), head dim 64.
  assertIterationBounds(asaIterations(64, 512, 8));
  assertIterationBounds(asaIterations(128, 1024, 8));
  assertThrows(
    () => assertIterationBounds(asaIterations(64, 1024, 64)),
    RangeError,
    "asa-probe-lse",
  );
});

Deno.test({
  name: "asa-attention: GPU output equals the CPU reference on odd and even shapes",
  ignore: testGpu === null,
  async fn() {
    await expectMatchesReference(testGpu!, asaAttention.impl, {
      params: [
        { ...DEFAULTS, blockSize: 16, samples: 4, threshold: 0.5 },
        { ...DEFAULTS, blockSize: 8, samples: 8, threshold: 0.95 },
        // More samples than a block holds, and a clamp from above.
        { ...DEFAULTS, blockSize: 32, samples: 40, threshold: 0.99, maxRetain: 0.3 },
      ],
    });
  },
});

Deno.test({
  name: "asa-attention: GPU equals the CPU reference at 257 key blocks (no loop past the limit)",
  ignore: testGpu === null,
  async fn() {
    await expectMatchesReference(testGpu!, asaAttention.impl, {
      params: [{ ...DEFAULTS, blockSize: 4, samples: 2, threshold: 0.8, minRetain: 0 }],
      shapes: [
        { heads: 1, seq: 1027, headDim: 8, causal: true },
        { heads: 2, seq: 1027, headDim: 8, causal: true, queries: 9 },
      ],
    });
  },
});

Deno.test("asa-attention refuses a retention range upside down, with a clear message", async () => {
  const shape = { heads: 1, seq: 16, headDim: 4, causal: true };
  const unused = {} as GPUBuffer;
  let message = "";
  try {
    await asaAttention.impl.setup(null as never, {
      shape,
      inputs: { q: unused, k: unused, v: unused },
      params: { ...DEFAULTS, minRetain: 0.5, maxRetain: 0.2 },
    });
  } catch (e) {
    message = (e as Error).message;
  }
  assert(message.includes("'minRetain' (0.5) exceeds 'maxRetain' (0.2)"), message);
});
