// Vertical-slash attention: the GPU estimate, top-k and attend equal the CPU reference on odd and
// even prefill and decoding shapes, and the estimate finds the columns and diagonals built into
// hand-made inputs.
import { assert, assertEquals } from "../../tests/assert.ts";
import { testGpu } from "../../tests/gpu.ts";
import { type AttentionShape, expectMatchesReference } from "../../bench/families/attention/mod.ts";
import {
  chooseLines,
  nearTieIndices,
  verticalSlashAttention,
  type VerticalSlashSplit,
  verticalSlashSplit,
} from "./vertical_slash.ts";

export const VERTICAL_SLASH_TEST_PARAMS = [
  { density: 0.1, verticalShare: 0.5, lastQueries: 64, window: 16, sinks: 4 },
  { density: 0.05, verticalShare: 0.3, lastQueries: 7, window: 1, sinks: 0 },
  { density: 0.3, verticalShare: 0.7, lastQueries: 64, window: 4, sinks: 2 },
];

Deno.test({
  name: "vertical-slash-attention: GPU output equals the CPU reference",
  ignore: testGpu === null,
  async fn() {
    await expectMatchesReference(testGpu!, verticalSlashAttention.impl, {
      params: VERTICAL_SLASH_TEST_PARAMS,
    });
  },
});

const SHAPE: AttentionShape = { heads: 1, seq: 12, headDim: 4, causal: true };

function flat(n: number, vector: (i: number) => number[]): Float32Array {
  return Float32Array.from(Array.from({ length: n }, (_, i) => vector(i)).flat());
}

function settings(over: Partial<VerticalSlashSplit>): VerticalSlashSplit {
  return { last: 4, verticals: 0, sinks: 0, window: 1, slashes: 0, ...over };
}

Deno.test("chooseLines() makes a key every query seeks the top column, after the forced sinks", () => {
  const inputs = {
    q: flat(12, () => [4, 0, 0, 0]),
    k: flat(12, (j) => (j === 5 ? [4, 0, 0, 0] : j === 9 ? [2, 0, 0, 0] : [0, 0, 0, 0])),
    v: new Float32Array(48),
  };
  const one = chooseLines(SHAPE, inputs, settings({ verticals: 2, sinks: 1 }), 0);
  assertEquals([...one.columns], [0, 5]);
  const two = chooseLines(SHAPE, inputs, settings({ verticals: 3, sinks: 1 }), 0);
  assertEquals([...two.columns], [0, 5, 9]);
});

Deno.test("chooseLines() makes a periodic offset the top diagonal, never spending the window", () => {
  // q_t and k_{t−3} share a direction, and later keys are longer: offsets 3, 7 and 11 peak,
  // the nearest highest.
  const inputs = {
    q: flat(12, (t) => [0, 1, 2, 3].map((i) => (i === t % 4 ? 4 : 0))),
    k: flat(12, (j) => [0, 1, 2, 3].map((i) => (i === (j + 3) % 4 ? 2 + j / 4 : 0))),
    v: new Float32Array(48),
  };
  const s = settings({ window: 1, slashes: 1 });
  assertEquals([...chooseLines(SHAPE, inputs, s, 0).diagonals], [3]);
  assertEquals([...chooseLines(SHAPE, inputs, { ...s, slashes: 3 }, 0).diagonals], [3, 7, 11]);
  // With the window over offsets 0..3, offset 3 is the window's and top-k takes the next ones.
  const wide = chooseLines(SHAPE, inputs, { ...s, window: 4, slashes: 1 }, 0);
  assertEquals([...wide.diagonals], [7]);
});

Deno.test("verticalSlashSplit() splits the budget into columns and diagonals of the mean row", () => {
  const shape = { heads: 1, seq: 1000, headDim: 64, causal: false };
  const s = verticalSlashSplit(shape, {
    density: 0.1,
    verticalShare: 0.3,
    lastQueries: 64,
    window: 16,
    sinks: 4,
  });
  // 100 keys a row: 30 columns (4 of them sinks), 70 diagonals (16 of them the window).
  assertEquals(s, { last: 64, verticals: 30, sinks: 4, window: 16, slashes: 54 });
  const small = verticalSlashSplit({ ...shape, queries: 5 }, {
    density: 0.005,
    verticalShare: 0.5,
    lastQueries: 64,
    window: 16,
    sinks: 4,
  });
  // 5 keys: 3 columns (rounded half up), the window alone as diagonals, 5 estimation rows.
  assertEquals(small, { last: 5, verticals: 3, sinks: 3, window: 16, slashes: 0 });
});

Deno.test("nearTieIndices() flags only a boundary within the gap, and only its members", () => {
  const clear = Float32Array.from([3, 2, 1, 0.5]);
  assertEquals(nearTieIndices(clear, 2), []);
  const tie = Float32Array.from([3, 1.00000005, 1, 0.5, 1.0000001]);
  assertEquals(nearTieIndices(tie, 2), [1, 2, 4]);
  assert(nearTieIndices(tie, 4).length === 0);
});

Deno.test({
  name: "vertical-slash-attention: GPU equals the CPU reference decoding a cache of 32,768 keys",
  ignore: testGpu === null,
  async fn() {
    // The estimate's log-sum-exp read each estimation row's logits twice (max, then sum) in one
    // invocation: at 32,768 keys the last row's sum lost its last key to llvmpipe's 65,535-
    // iteration limit (too little to change the selection), at 40,000 keys a third of them.
    await expectMatchesReference(testGpu!, verticalSlashAttention.impl, {
      params: [{ density: 0.02, verticalShare: 0.5, lastQueries: 64, window: 16, sinks: 4 }],
      shapes: [
        { heads: 1, seq: 32768, headDim: 16, causal: true, queries: 3 },
        { heads: 1, seq: 40000, headDim: 16, causal: true, queries: 3 },
      ],
    });
  },
});
