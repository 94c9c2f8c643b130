// DHSA: the GPU selection and attention against the CPU reference on odd and even shapes, and the
// chunking, length normalisation and chunk-level top-k on hand-made inputs.
import { assert, assertEquals, assertThrows } from "../../tests/assert.ts";
import { testGpu } from "../../tests/gpu.ts";
import { mulberry32 } from "../../bench/random.ts";
import {
  type AttentionMethod,
  expectMatchesReference,
  TEST_SHAPES,
  topIndices,
} from "../../bench/families/attention/mod.ts";
import { checkChunkBounds, chunkKeys, dhsaAttention, setupDhsa, topChunkKeys } from "./dhsa.ts";
import { scanSegment } from "./dhsa_kernel.ts";

type DhsaTestParams = { density: number; threshold: number; minChunk: number; maxChunk: number };

/** Parameter sets the GPU test runs (and attention_gpu_test.ts may reuse). */
export const DHSA_TEST_PARAMS: DhsaTestParams[] = [
  // Random keys have cos ≈ 0 with their chunk: threshold 0 cuts about half the time.
  { density: 0.1, threshold: 0, minChunk: 4, maxChunk: 16 },
  { density: 0.3, threshold: -0.1, minChunk: 1, maxChunk: 8 },
  { density: 0.05, threshold: 0.5, minChunk: 16, maxChunk: 64 },
  // Never below −1: only maxChunk cuts, and density 1 keeps every visible key (dense).
  { density: 1, threshold: -1, minChunk: 3, maxChunk: 300 },
];

Deno.test({
  name: "dhsa: GPU chunking, chunk scores, top-k and attend equal the CPU reference",
  ignore: testGpu === null,
  async fn() {
    await expectMatchesReference(testGpu!, dhsaAttention.impl, { params: DHSA_TEST_PARAMS });
  },
});

Deno.test({
  name: "dhsa: query chunks upsampled and chosen in several rounds equal the CPU reference",
  ignore: testGpu === null,
  async fn() {
    // Scratch for three query chunks' key scores: every shape takes several rounds.
    const rounds: AttentionMethod<DhsaTestParams> = {
      ...dhsaAttention.impl,
      setup: (gpu, problem) =>
        setupDhsa(gpu, { ...problem, scratchBytes: 3 * problem.shape.seq * 4 }),
    };
    await expectMatchesReference(testGpu!, rounds, {
      params: DHSA_TEST_PARAMS.slice(0, 2),
      shapes: TEST_SHAPES.slice(1, 4),
    });
  },
});

Deno.test({
  name: "dhsa: a chunking scan longer than llvmpipe's 65,535 loop iterations per invocation",
  ignore: testGpu === null,
  async fn() {
    // llvmpipe runs invocations in SIMD groups and counts loop iterations per group, across all
    // loops: with heads cutting at different keys (random keys, threshold 0), every key ran the
    // cosine, close and add loops over D4 = 25 for one head or another, and a one-dispatch scan
    // of 8192 keys stopped short — later keys kept chunk 0 and decoding rows saw 1 key, not 819.
    // The scan now runs as dispatches of scanSegment keys; decoding keeps the check cheap.
    const shape = { heads: 4, seq: 8192, headDim: 100, causal: true, queries: 4 };
    assert(scanSegment(shape.headDim) < shape.seq);
    await expectMatchesReference(testGpu!, dhsaAttention.impl, {
      params: [
        { density: 0.1, threshold: 0, minChunk: 8, maxChunk: 32 },
        { density: 0.1, threshold: 0.6, minChunk: 8, maxChunk: 32 },
      ],
      shapes: [shape],
    });
  },
});

const SETTINGS = { density: 0.25, threshold: 0.5, minChunk: 2, maxChunk: 10 };

/** Keys (one head, d = 4) along the given unit axes, one per position. */
function axisKeys(axes: number[]): Float32Array {
  const k = new Float32Array(axes.length * 4);
  axes.forEach((a, t) => k[t * 4 + a] = 1);
  return k;
}

Deno.test("chunkKeys() cuts where a key turns away from its chunk, within min and max lengths", () => {
  const keys = axisKeys([0, 0, 0, 1, 1, 1, 0, 0]);
  const shape = { heads: 1, seq: 8, headDim: 4, causal: true };
  const chunks = chunkKeys(shape, keys, SETTINGS, 0);
  assertEquals([...chunks.starts], [0, 3, 6, 8]);
  assertEquals([...chunks.chunkOf], [0, 0, 0, 1, 1, 1, 2, 2]);
  assertEquals(chunks.nearCut, Infinity);
  // Length-normalised: 3·e0 / √3 = √3·e0.
  assert(Math.abs(chunks.keyReps[0] - Math.sqrt(3)) < 1e-6);
  assertEquals([...chunks.keyReps.subarray(1, 4)], [0, 0, 0]);
  // At least four keys: at t = 3 the chunk is too short; at t = 4, cos(e1, 3e0 + e1) = 1/√10.
  assertEquals([...chunkKeys(shape, keys, { ...SETTINGS, minChunk: 4 }, 0).starts], [0, 4, 8]);
  // At most two keys, and a similar key never cuts.
  const forced = chunkKeys({ ...shape, seq: 7 }, axisKeys([0, 0, 0, 0, 0, 0, 0]), {
    ...SETTINGS,
    minChunk: 1,
    maxChunk: 2,
  }, 0);
  assertEquals([...forced.starts], [0, 2, 4, 6, 7]);
});

Deno.test("topChunkKeys() takes whole chunks best first, the edge chunk from its start", () => {
  // Chunks [0, 2), [2, 5), [5, 6) scoring 1, 3, 2.
  const starts = [0, 2, 5, 6];
  assertEquals([...topChunkKeys([1, 3, 2], starts, 4).keys], [2, 3, 4, 5]);
  assertEquals([...topChunkKeys([1, 3, 2], starts, 2).keys], [2, 3]);
  assertEquals([...topChunkKeys([1, 3, 2], starts, 9).keys], [0, 1, 2, 3, 4, 5]);
  // Equal scores: the lower chunk first.
  assertEquals([...topChunkKeys([2, 2], [0, 3, 6], 4).keys], [0, 1, 2, 3]);
  // Near-ties matter only next to the budget's edge: after chunk 1 (whole) or inside it.
  assert(topChunkKeys([1, 3, 2.9999999], starts, 3).nearTie);
  assert(topChunkKeys([1, 3, 2.9999999], starts, 2).nearTie);
  assert(!topChunkKeys([1, 3, 2], starts, 2).nearTie);
  assert(!topChunkKeys([3, 1, 1.0000001], starts, 2).nearTie);
  // The other side of the tie: chunk 2 first, then what is left of chunk 1.
  const other = (keep: number) =>
    topChunkKeys([1, 3, 2.9999999], starts, keep).alternatives.map((a) => [...a]);
  assertEquals(other(3), [[2, 3, 5]]);
  assertEquals(other(2), [[2, 5]]);
  assertEquals(topChunkKeys([1, 3, 2], starts, 2).alternatives, []);
});

Deno.test("topChunkKeys() equals top-k over keys that inherit their chunk's score", () => {
  const uniform = mulberry32(7);
  for (let trial = 0; trial < 50; trial++) {
    const starts = [0];
    while (starts[starts.length - 1] < 60) {
      starts.push(starts[starts.length - 1] + 1 + Math.floor(uniform() * 8));
    }
    // A few repeated scores, so ties across chunks occur.
    const scores = Array.from({ length: starts.length - 1 }, () => Math.floor(uniform() * 5));
    const tokens = Array.from(
      { length: starts[starts.length - 1] },
      (_, j) => scores[starts.findLastIndex((s) => s <= j)],
    );
    const keep = 1 + Math.floor(uniform() * tokens.length);
    assertEquals([...topChunkKeys(scores, starts, keep).keys], [...topIndices(tokens, keep)]);
  }
});

Deno.test("dhsa-attention selectKeys() keeps, per query chunk, the key chunk it matches", () => {
  // Four chunks of keys along axes 0, 1, 2, 3; every query points along axis 1.
  const shape = { heads: 1, seq: 16, headDim: 4, causal: true };
  const k = axisKeys([0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3]);
  const q = axisKeys(Array(16).fill(1));
  const inputs = { q, k, v: new Float32Array(16 * 4) };
  const params = { density: 0.25, threshold: 0.5, minChunk: 2, maxChunk: 10 };
  const select = (
    row: number,
  ) => [...dhsaAttention.impl.selectKeys({ shape, params, inputs }, 0, row)];
  // Last chunk: 16 visible keys, keeps 4 — the matching chunk, not its own.
  assertEquals(select(13), [4, 5, 6, 7]);
  // Second chunk: 8 visible, keeps 2 — its own chunk's first keys, limited by causality.
  assertEquals(select(4), [4]);
  assertEquals(select(7), [4, 5]);
  // First chunk: 4 visible, keeps 1.
  assertEquals(select(2), [0]);
  assert(!dhsaAttention.impl.ambiguousRow!({ shape, params, inputs }, 0, 13));
});

Deno.test("checkChunkBounds() refuses maxChunk below minChunk", () => {
  assertThrows(
    () => checkChunkBounds({ density: 0.1, threshold: 0.5, minChunk: 8, maxChunk: 4 }),
    RangeError,
    "'maxChunk' must be at least 'minChunk'",
  );
});
