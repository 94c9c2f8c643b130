// Routing attention: the GPU k-means and attend pass against the CPU reference, and the k-means
// itself on hand-made inputs whose clusters are known.
import { assert, assertEquals } from "../../tests/assert.ts";
import { testGpu } from "../../tests/gpu.ts";
import { readBack, uploadStorage } from "../../bench/gpu/buffers.ts";
import {
  type AttentionInputs,
  type AttentionShape,
  checkAgainstReference,
  expectMatchesReference,
  randomInputs,
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

Deno.test({
  name: "routing-attention counts its k-means in extraFlops: a hand count on a tiny input",
  ignore: testGpu === null,
  async fn() {
    // 1 head, 8 keys and 3 query rows (11 points), d = 4, 2 centroids, 1 round. Normalising: a
    // square, an add and a division per element, 3 · 4 · 11 = 132. Two assignments (the round's
    // and the final one): a 4-long dot (8 FLOPs) per point and centroid, 2 · 11 · 2 · 8 = 352. One
    // update: an add per member element, 11 · 4 = 44, and normalising 2 centroids, 2 · 3 · 4 = 24.
    const { shape, inputs } = twoDirections();
    const kernel = await setupOn(shape, inputs, { clusters: 2, iterations: 1, window: 0 });
    kernel.dispose();
    assertEquals(kernel.extraFlops, 132 + 352 + 44 + 24);
    for (const b of Object.values(kernel.gpuInputs)) b.destroy();
  },
});

/** Uploads `inputs` and sets routing attention up on them; the buffers stay with the kernel. */
async function setupOn(
  shape: AttentionShape,
  inputs: AttentionInputs,
  params: { clusters: number; iterations: number; window: number },
) {
  const device = testGpu!.device;
  const gpuInputs = {
    q: uploadStorage(device, inputs.q, "q"),
    k: uploadStorage(device, inputs.k, "k"),
    v: uploadStorage(device, inputs.v, "v"),
  };
  const kernel = await routingAttention.impl.setup(testGpu!, { shape, inputs: gpuInputs, params });
  return { ...kernel, gpuInputs };
}

Deno.test({
  name: "routing-attention runs its k-means in the timed work: new q and k after setup re-route",
  ignore: testGpu === null,
  async fn() {
    const shape = { heads: 2, seq: 203, headDim: 32, causal: true };
    const params = { clusters: 4, iterations: 2, window: 8 };
    const first = randomInputs(shape, 71);
    const second = randomInputs(shape, 72);
    const device = testGpu!.device;
    const kernel = await setupOn(shape, first, params);
    try {
      // Only the timed work (encode) runs after the inputs change: a routing fixed at setup
      // would attend the first input's clusters and fail against the second's reference.
      device.queue.writeBuffer(kernel.gpuInputs.q, 0, second.q as Float32Array<ArrayBuffer>);
      device.queue.writeBuffer(kernel.gpuInputs.k, 0, second.k as Float32Array<ArrayBuffer>);
      device.queue.writeBuffer(kernel.gpuInputs.v, 0, second.v as Float32Array<ArrayBuffer>);
      const encoder = device.createCommandEncoder();
      kernel.encode(encoder);
      device.queue.submit([encoder.finish()]);
      const queries = shape.seq;
      const out = new Float32Array(
        await readBack(device, kernel.output, shape.heads * queries * shape.headDim * 4),
      );
      const visited = new Uint32Array(
        await readBack(device, kernel.visited, shape.heads * queries * 4),
      );
      const verdict = checkAgainstReference(
        routingAttention.impl,
        { shape, inputs: second, params },
        { out, visited },
      );
      assert(verdict.passed, verdict.problems.join("; "));
      // And the first input's routing differs, so the check above could fail.
      const moved = [0, 1].some((h) =>
        routeHead(shape, first, params, h).keyCluster.join() !==
          routeHead(shape, second, params, h).keyCluster.join()
      );
      assert(moved, "the two inputs route alike: the test would not tell");
    } finally {
      kernel.dispose();
      for (const b of Object.values(kernel.gpuInputs)) b.destroy();
    }
  },
});
