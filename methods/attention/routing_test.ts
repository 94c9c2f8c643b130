// Routing attention: the GPU k-means and attend pass against the CPU reference, and the k-means
// itself on hand-made inputs whose clusters are known.
import { assert, assertEquals } from "../../tests/assert.ts";
import { testGpu } from "../../tests/gpu.ts";
import {
  type AttentionInputs,
  type AttentionShape,
  expectMatchesReference,
} from "../../bench/families/attention/mod.ts";
import { routeHead, routingAttention } from "./routing.ts";

/** Parameter sets the GPU test runs (also for attention_gpu_test.ts). */
export const ROUTING_TEST_PARAMS = [
  { clusters: 4, iterations: 2, window: 4 },
  { clusters: 16, iterations: 3, window: 0 },
  { clusters: 1, iterations: 1, window: 1 },
  { clusters: 300, iterations: 0, window: 2 },
];

Deno.test({
  name:
    "routing-attention: GPU k-means and attention equal the CPU reference on odd and even shapes",
  ignore: testGpu === null,
  async fn() {
    await expectMatchesReference(testGpu!, routingAttention.impl, { params: ROUTING_TEST_PARAMS });
  },
});

/** Keys 0–3 point along x, keys 4–7 along y; the queries along x, y, x (head dim 4). */
function twoDirections(): { shape: AttentionShape; inputs: AttentionInputs } {
  const shape = { heads: 1, seq: 8, headDim: 4, causal: true, queries: 3 };
  const k = new Float32Array(8 * 4);
  for (let j = 0; j < 8; j++) {
    k[j * 4 + (j < 4 ? 0 : 1)] = 1 + j / 10;
    k[j * 4 + 2] = 0.05 * (j % 3);
  }
  const q = Float32Array.from([2, 0.1, 0, 0, 0.1, 3, 0, 0, 1, 0, 0.2, 0]);
  return { shape, inputs: { q, k, v: new Float32Array(8 * 4) } };
}

Deno.test("routeHead() gives keys and queries of one direction one cluster", () => {
  const { shape, inputs } = twoDirections();
  const r = routeHead(shape, inputs, { clusters: 2, iterations: 2 }, 0);
  // Seeds are keys 2 and 6: one of each direction.
  assertEquals([...r.keyCluster], [0, 0, 0, 0, 1, 1, 1, 1]);
  assertEquals([...r.queryCluster], [0, 1, 0]);
  assert(!r.unstable);
  assertEquals([...r.queryTie], [0, 0, 0]);
});

Deno.test("routing-attention selectKeys: its cluster's visible keys plus the window", () => {
  const { shape, inputs } = twoDirections();
  const keys = (row: number, window: number) => [
    ...routingAttention.impl.selectKeys(
      { shape, params: { clusters: 2, iterations: 2, window }, inputs },
      0,
      row,
    ),
  ];
  // Row 0 is position 5, in the x cluster: keys 0–3, and with a window of 2 also 4 and 5.
  assertEquals(keys(0, 0), [0, 1, 2, 3]);
  assertEquals(keys(0, 2), [0, 1, 2, 3, 4, 5]);
  // Row 1 is position 6, in the y cluster: keys 4–6 (7 lies ahead).
  assertEquals(keys(1, 0), [4, 5, 6]);
});

Deno.test("routing-attention ambiguousRow: a query halfway between two centroids", () => {
  const { shape, inputs } = twoDirections();
  const params = { clusters: 2, iterations: 0, window: 0 };
  // Seeds k2 = (1.2, 0, 0.1, 0) and k6 = (0, 1.6, 0, 0); a query with equal cosines to both.
  const a = [1.2, 0, 0.1, 0].map((x) => x / Math.hypot(1.2, 0.1));
  const tie = [a[0], 1, a[2], 0];
  inputs.q.set(tie, 8);
  assert(routingAttention.impl.ambiguousRow!({ shape, params, inputs }, 0, 2));
  assert(!routingAttention.impl.ambiguousRow!({ shape, params, inputs }, 0, 1));
});
