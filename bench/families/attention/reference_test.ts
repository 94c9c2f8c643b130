import { assertAlmostEquals, assertEquals } from "../../../tests/assert.ts";
import {
  attendRow,
  blockGeometry,
  blockMaxAttention,
  blockTieAlternatives,
  chooseBlocksFor,
  denseKeys,
  float32Dot4,
  keepCount,
  keyRange,
  nearTieSwaps,
  otherSelections,
  randomInputs,
  relativeNearTie,
  topIndices,
  topIndicesAlternatives,
  windowBand,
} from "./mod.ts";

Deno.test("attendRow() computes softmax attention by hand on a 2-key example", () => {
  // d = 1, scale 1: scores q·k = 0 and ln 3 → weights 1/4, 3/4 → output 0.25·1 + 0.75·5 = 4.
  const inputs = {
    q: Float32Array.of(1, 1),
    k: Float32Array.of(0, Math.log(3)),
    v: Float32Array.of(1, 5),
  };
  const shape = { heads: 1, seq: 2, headDim: 1, causal: true };
  const r = attendRow(shape, inputs, { head: 0, row: 1, keys: denseKeys(shape, 1) });
  assertAlmostEquals(r.weights[0], 0.25, 1e-6);
  assertAlmostEquals(r.out[0], 4, 1e-6);
  // Causal row 0 sees only key 0.
  assertEquals([...denseKeys(shape, 0)], [0]);
});

Deno.test("windowBand() keeps the last `window` keys when causal and centres them otherwise", () => {
  const causal = { heads: 1, seq: 10, headDim: 4, causal: true };
  assertEquals(windowBand(causal, 3, 5), [3, 5]);
  assertEquals(windowBand(causal, 3, 0), [0, 0]);
  const bidirectional = { ...causal, causal: false };
  assertEquals(windowBand(bidirectional, 4, 5), [3, 6]);
  assertEquals(windowBand(bidirectional, 4, 9), [7, 9]);
  assertEquals([...keyRange(3, 5)], [3, 4, 5]);
});

Deno.test("keepCount() keeps a rounded share of the visible items, at least one", () => {
  assertEquals(keepCount(10, 0.1), 1);
  assertEquals(keepCount(15, 0.1), 2);
  assertEquals(keepCount(3, 0.01), 1);
  assertEquals(keepCount(4, 1), 4);
});

Deno.test("float32Dot4() sums four float32 lanes, then ((l0 + l1) + l2) + l3", () => {
  const a = Float32Array.from({ length: 7 }, (_, i) => 0.1 * (i + 1));
  const b = Float32Array.from({ length: 9 }, (_, i) => 1 / (i + 3));
  const f = Math.fround;
  const lanes = [0, 0, 0, 0];
  for (let i = 0; i < 7; i++) lanes[i % 4] = f(lanes[i % 4] + f(a[i] * b[i + 2]));
  const expected = f(f(f(lanes[0] + lanes[1]) + lanes[2]) + lanes[3]);
  assertEquals(float32Dot4(a, b, { a: 0, b: 2, length: 7 }), expected);
});

Deno.test("blockMaxAttention() equals the block maxima of attendRow()'s weights exactly", () => {
  for (
    const shape of [
      { heads: 2, seq: 70, headDim: 16, causal: true },
      { heads: 1, seq: 53, headDim: 8, causal: false },
      { heads: 1, seq: 90, headDim: 16, causal: true, queries: 21 },
    ]
  ) {
    const inputs = randomInputs(shape, 9);
    const block = 16;
    const queries = shape.queries ?? shape.seq;
    for (let head = 0; head < shape.heads; head++) {
      for (let qb = 0; qb < Math.ceil(queries / block); qb++) {
        const expected = new Float64Array(
          blockMaxAttention(shape, inputs, { block, head, qb }).length,
        );
        for (let row = qb * block; row < Math.min((qb + 1) * block, queries); row++) {
          attendRow(shape, inputs, { head, row, keys: denseKeys(shape, row) }).weights.forEach(
            (w, j) => {
              const kb = Math.floor(j / block);
              if (w > expected[kb]) expected[kb] = w;
            },
          );
        }
        assertEquals(blockMaxAttention(shape, inputs, { block, head, qb }), expected);
      }
    }
  }
});

Deno.test("nearTieSwaps() trades each near-tied kept candidate for each near-tied left-out one", () => {
  // Best first: 4 (9), 0 (5), 2 (5 + 1e-7), 1 (5 − 1e-7), 3 (1); keep 3 → {0, 2, 4}. The
  // boundary pair 2–1 and 0–1 are near-ties, 4 and 3 are not.
  const scores = [5, 5 - 1e-7, 5 + 1e-7, 1, 9];
  const order = [4, 2, 0, 1, 3];
  const near = relativeNearTie(scores, 1e-4);
  assertEquals(nearTieSwaps(order, 3, { near }), [
    [1, 2, 4],
    [0, 1, 4],
  ]);
  // No near-tie at the boundary, or nothing left out: no alternative.
  assertEquals(nearTieSwaps(order, 1, { near }), []);
  assertEquals(nearTieSwaps(order, 5, { near }), []);
  assertEquals(nearTieSwaps(order, 3, { near, max: 1 }), [[1, 2, 4]]);
});

Deno.test("blockTieAlternatives() swaps the boundary blocks of chooseBlocksFor(), own block kept", () => {
  const shape = { heads: 1, seq: 64, headDim: 4, causal: true };
  const geometry = blockGeometry(shape, 8);
  // Query block 7 sees blocks 0..7 (own 7); keep 3: own + the two best others. Blocks 2 and 5
  // tie for the second place.
  const scores = [0.1, 0.9, 0.5, 0.05, 0.2, 0.5 * (1 - 1e-6), 0.3, 0];
  const chosen = chooseBlocksFor(geometry, 3 / 8, 7, (kb) => scores[kb]);
  assertEquals([...chosen], [1, 2, 7]);
  const alternatives = blockTieAlternatives(geometry, 7, { scores, keep: 3, relativeGap: 1e-4 });
  assertEquals(alternatives.map((a) => [...a]), [[1, 5, 7]]);
  assertEquals(blockTieAlternatives(geometry, 7, { scores, keep: 3, relativeGap: 1e-7 }), []);
});

Deno.test("topIndicesAlternatives() swaps topIndices()' boundary, never picking masked scores", () => {
  const scores = [0.5, -3e38, 2, 1 + 1e-9, 1, 0.25];
  assertEquals([...topIndices(scores, 2)], [2, 3]);
  assertEquals(topIndicesAlternatives(scores, 2, 1e-6).map((a) => [...a]), [[2, 4]]);
  assertEquals(topIndicesAlternatives(scores, 3, 1e-6), []);
  // Keeping all but the masked one leaves nothing to swap in.
  assertEquals(topIndicesAlternatives(scores, 5, 1e-6), []);
});

Deno.test("otherSelections() drops the primary selection and repeats", () => {
  const primary = Int32Array.of(1, 2);
  const alternatives = [Int32Array.of(1, 2), Int32Array.of(1, 3), Int32Array.of(1, 3)];
  assertEquals(otherSelections(primary, alternatives).map((a) => [...a]), [[1, 3]]);
});
