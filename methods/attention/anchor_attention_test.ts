// AnchorAttention: the GPU anchors, pooled queries, stripe bits and attend equal the CPU
// reference on odd and even prefill and decoding shapes, and the selection keeps exactly the
// keys within θ of the anchor on hand-made inputs.
import { assert, assertEquals } from "../../tests/assert.ts";
import { testGpu } from "../../tests/gpu.ts";
import { type AttentionShape, expectMatchesReference } from "../../bench/families/attention/mod.ts";
import {
  anchorAttention,
  type AnchorParams,
  blockStripes,
  rowAnchor,
  rowHingesOnNearTie,
} from "./anchor_attention.ts";

export const ANCHOR_TEST_PARAMS = [
  { theta: 5, blockSize: 16, initTokens: 4, window: 8 },
  { theta: 0, blockSize: 1, initTokens: 0, window: 1 },
  { theta: 4, blockSize: 7, initTokens: 2, window: 3 },
];

Deno.test({
  name: "anchor-attention: GPU output equals the CPU reference",
  ignore: testGpu === null,
  async fn() {
    await expectMatchesReference(testGpu!, anchorAttention.impl, { params: ANCHOR_TEST_PARAMS });
  },
});

// Every query is 2·e0 and key j is c_j·e0, so with d = 4 (scale ½) every row scores key j c_j.
const C = [5, 0, 0, 4.5, 0, 3.9, 0, 0, 1, 2];
const SHAPE: AttentionShape = { heads: 1, seq: C.length, headDim: 4, causal: true };

function inputsWith(c: number[]) {
  return {
    q: Float32Array.from(c.flatMap(() => [2, 0, 0, 0])),
    k: Float32Array.from(c.flatMap((x) => [x, 0, 0, 0])),
    v: new Float32Array(c.length * 4),
  };
}

const PARAMS: AnchorParams = { theta: 1, blockSize: 2, initTokens: 1, window: 2 };

Deno.test("rowAnchor() is the largest score over the initial tokens and the row's window", () => {
  const inputs = inputsWith(C);
  const anchor = (params: AnchorParams) => rowAnchor({ shape: SHAPE, inputs, params }, 0, 9);
  assertEquals(anchor(PARAMS), 5);
  assertEquals(anchor({ ...PARAMS, initTokens: 0 }), 2);
  assertEquals(anchor({ ...PARAMS, initTokens: 0, window: 6 }), Math.fround(3.9));
});

Deno.test("blockStripes() keeps the initial tokens and keys within θ of the mean anchor", () => {
  const inputs = inputsWith(C);
  const stripes = (params: AnchorParams, qb: number) => [
    ...blockStripes({ shape: SHAPE, inputs, params }, 0, qb).keys,
  ];
  // Rows 8 and 9: anchor 5 (key 0), so keys scoring ≥ 4 join: key 3 (4.5), not key 5 (3.9).
  assertEquals(stripes(PARAMS, 4), [0, 3]);
  assertEquals(stripes({ ...PARAMS, theta: 1.2 }, 4), [0, 3, 5]);
  // Rows 2 and 3 reach key 3 at most.
  assertEquals(stripes({ ...PARAMS, theta: 1.2 }, 1), [0, 3]);
  const select = (row: number) => [
    ...anchorAttention.impl.selectKeys({ shape: SHAPE, params: PARAMS, inputs }, 0, row),
  ];
  // Row 2 may not see key 3 yet; row 3 does; row 9 adds its window 8, 9.
  assertEquals(select(2), [0, 1, 2]);
  assertEquals(select(3), [0, 2, 3]);
  assertEquals(select(9), [0, 3, 8, 9]);
});

Deno.test("rowHingesOnNearTie() excuses the rows a key exactly at the threshold would join", () => {
  const c = [...C];
  c[5] = 4; // exactly anchor 5 − θ 1
  const problem = { shape: SHAPE, inputs: inputsWith(c), params: PARAMS };
  const late = blockStripes(problem, 0, 4);
  assert(rowHingesOnNearTie(SHAPE, late, PARAMS, 8));
  // Within row 6's window, key 5 is attended to either way.
  const middle = blockStripes(problem, 0, 3);
  assert(!rowHingesOnNearTie(SHAPE, middle, PARAMS, 6));
  assert(rowHingesOnNearTie(SHAPE, middle, PARAMS, 7));
  // Rows 2 and 3 never reach key 5; key 3 is clear of the threshold.
  assert(!rowHingesOnNearTie(SHAPE, blockStripes(problem, 0, 1), PARAMS, 3));
});
