// The adjusted Rand index against contingency tables worked by hand.
import { assert, assertEquals, assertThrows } from "../../tests/assert.ts";
import { adjustedRandFromTable, adjustedRandIndex } from "./adjusted_rand_index.ts";

const close = (a: number, b: number) => Math.abs(a - b) < 1e-12;

Deno.test("adjustedRandFromTable() equals hand-worked tables", () => {
  // Truth [0,0,0,1,1,1] against [0,0,1,1,2,2]: Σ C(nᵢⱼ,2) = 1 + 1 = 2; rows 3, 3 → 6; columns
  // 2, 2, 2 → 3; C(6,2) = 15; expected 6·3/15 = 1.2; max (6+3)/2 = 4.5; (2 − 1.2)/(4.5 − 1.2).
  assert(close(adjustedRandFromTable([[2, 1, 0], [0, 1, 2]]), 0.8 / 3.3));
  // [0,0,1,1] against [0,1,0,1]: no pair agrees; rows 2, 2 → 2; columns → 2; C(4,2) = 6;
  // expected 4/6; max 2: (0 − 2/3)/(2 − 2/3) = −0.5.
  assert(close(adjustedRandFromTable([[1, 1], [1, 1]]), -0.5));
  // 10 items, truth sizes 5, 5, found sizes 6, 4, table [[5,0],[1,4]]: Σ C = 10 + 0 + 0 + 6 = 16;
  // rows 10 + 10 = 20; columns 15 + 6 = 21; C(10,2) = 45; expected 20·21/45 = 9.333…;
  // max 20.5: (16 − 28/3)/(20.5 − 28/3) = (20/3)/(67/6) = 40/67.
  assert(close(adjustedRandFromTable([[5, 0], [1, 4]]), 40 / 67));
  // One partition refined by the other, permuted columns, a column of zeros: still 1.
  assertEquals(adjustedRandFromTable([[0, 4, 0], [3, 0, 0]]), 1);
  // Both trivial (everything in one cluster): equal partitions.
  assertEquals(adjustedRandFromTable([[7]]), 1);
});

Deno.test("adjustedRandIndex() of labellings: relabelling-invariant, −1 is a cluster, subsets and repeats", () => {
  const truth = Int32Array.from([0, 0, 0, 1, 1, 1]);
  assertEquals(adjustedRandIndex(truth, Int32Array.from([4, 4, 4, -1, -1, -1])), 1);
  assert(close(adjustedRandIndex(truth, Int32Array.from([0, 0, 1, 1, 2, 2])), 0.8 / 3.3));
  // Items 0, 0, 3, 4 (a resample): truth [0,0,1,1], found [7,7,2,2] → 1.
  const found = Int32Array.from([7, 9, 9, 2, 2, 9]);
  assertEquals(adjustedRandIndex(truth, found, [0, 0, 3, 4]), 1);
});

Deno.test("adjustedRandIndex() over a resample leaves out pairs of one item's copies", () => {
  // Truth [0,0,1], found [0,1,1]: index 0, rows 1, columns 1, C(3,2) = 3: (0 − 1/3)/(1 − 1/3).
  const truth = Int32Array.from([0, 0, 1]), found = Int32Array.from([0, 1, 1]);
  assert(close(adjustedRandIndex(truth, found), -0.5));
  // Every item twice compares each pair of distinct items four times over: the same index.
  // Counting the copy pairs as agreements gave (3 − 49/15)/(7 − 49/15) = −1/14 instead.
  assert(close(adjustedRandIndex(truth, found, [0, 0, 1, 1, 2, 2]), -0.5));
  // One item's copies only: nothing to compare.
  assertEquals(adjustedRandIndex(truth, found, [2, 2, 2]), 1);
});

Deno.test("adjustedRandIndex() refuses mismatched or out-of-range labels", () => {
  assertThrows(() => adjustedRandIndex(Int32Array.from([0, 1]), Int32Array.from([0])), RangeError);
  assertThrows(
    () => adjustedRandIndex(Int32Array.from([0, -1]), Int32Array.from([0, 0])),
    RangeError,
  );
  assertThrows(() => adjustedRandFromTable([[1]]), RangeError);
  assertThrows(() => adjustedRandFromTable([[1, 2], [3]]), RangeError);
});
