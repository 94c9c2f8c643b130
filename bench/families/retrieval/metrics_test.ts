import { assertAlmostEquals, assertEquals } from "../../../tests/assert.ts";
import { ndcgAt, queryMeasures, recallAt, reciprocalRankAt } from "./_metrics.ts";

const one = new Map([[7, 1]]);

Deno.test("ndcgAt() matches hand-computed values", () => {
  // The one relevant document at rank 3: 1/log2(4) = 0.5.
  assertAlmostEquals(ndcgAt([1, 2, 7, 4], one, 10), 0.5, 1e-12);
  assertEquals(ndcgAt([1, 2, 3], one, 10), 0);
  // Beyond the cutoff it counts for nothing.
  assertEquals(ndcgAt([...Array(10).keys()].map((i) => i + 100).concat([7]), one, 10), 0);
  // Graded: grades 2 and 1; ranked [1 (grade 1), x, 2 (grade 2)].
  // DCG = 1/log2(2) + 2/log2(4) = 2; IDCG = 2/1 + 1/log2(3) = 2.6309297535714578.
  const graded = new Map([[1, 1], [2, 2]]);
  assertAlmostEquals(ndcgAt([1, 9, 2], graded, 10), 2 / (2 + 1 / Math.log2(3)), 1e-12);
  assertEquals(ndcgAt([2, 1], graded, 10), 1);
});

Deno.test("reciprocalRankAt() and recallAt() match hand-computed values", () => {
  assertEquals(reciprocalRankAt([3, 7, 1], one, 10), 0.5);
  assertEquals(reciprocalRankAt([3, 1], one, 10), 0);
  const rel = new Map([[1, 1], [2, 1], [3, 1], [4, 0]]);
  assertAlmostEquals(recallAt([4, 1, 9, 3], rel, 100), 2 / 3, 1e-12);
  assertEquals(recallAt([4, 1, 9, 3], rel, 1), 0);
  assertEquals(reciprocalRankAt([4, 9, 2], rel, 10), 1 / 3);
});

Deno.test("queryMeasures() gives nDCG@10, MRR@10 and R@100 together", () => {
  assertEquals(queryMeasures([7], one), { ndcg_10: 1, mrr_10: 1, recall_100: 1 });
  assertEquals(queryMeasures([], one), { ndcg_10: 0, mrr_10: 0, recall_100: 0 });
});
