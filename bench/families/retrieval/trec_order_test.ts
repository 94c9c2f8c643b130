import { assertAlmostEquals, assertEquals } from "../../../tests/assert.ts";
import { queryMeasures, type Ranking, trecEvalOrder } from "./mod.ts";

const ranking = (docs: number[], scores: number[]): Ranking => ({
  docs: Int32Array.from(docs),
  scores: Float64Array.from(scores),
  postingsScored: 7,
});

Deno.test("trecEvalOrder() breaks score ties by docno descending, as trec_eval sorts a run", () => {
  // docnos by doc number; "d9" > "d10" > "d1" byte-wise, though 9 < 10 as numbers.
  const ids = ["d0", "d1", "d2", "d3", "d9", "d10"];
  // The method's own order (ties by ascending doc number): d1 5, d2 3, d3 3, d9 1, d10 1.
  const r = trecEvalOrder(ranking([1, 2, 3, 4, 5], [5, 3, 3, 1, 1]), ids);
  assertEquals(Array.from(r.docs), [1, 3, 2, 4, 5]);
  assertEquals(Array.from(r.scores), [5, 3, 3, 1, 1]);
  assertEquals(r.postingsScored, 7);
  // Untied rankings are returned as they are.
  const untied = ranking([2, 0], [2, 1]);
  assertEquals(trecEvalOrder(untied, ids), untied);
});

Deno.test("measures of a tied ranking, worked out by hand under trec_eval's rule", () => {
  const ids = ["d0", "d1", "d2", "d3", "d9", "d10"];
  const judged = new Map([[3, 1]]); // d3 is the one relevant document
  const own = ranking([1, 2, 3, 4, 5], [5, 3, 3, 1, 1]);
  // In the method's order d3 is 3rd: nDCG@10 = 1/log2(4) = 0.5, RR = 1/3.
  const before = queryMeasures(own.docs, judged);
  assertAlmostEquals(before.ndcg_10, 0.5, 1e-12);
  assertAlmostEquals(before.mrr_10, 1 / 3, 1e-12);
  // trec_eval reads the tie d2/d3 as d3 first: d3 is 2nd, nDCG@10 = 1/log2(3), RR = 1/2.
  const after = queryMeasures(trecEvalOrder(own, ids).docs, judged);
  assertAlmostEquals(after.ndcg_10, 1 / Math.log2(3), 1e-12);
  assertEquals(after.mrr_10, 0.5);
  assertEquals(after.recall_100, 1);
  // A tie across the nDCG cutoff: eleven documents "x00"…"x10" share one score and "x00" is
  // relevant. The method ranks it first; trec_eval sorts it last of the tie, 11th, outside the
  // cutoff: nDCG@10 = 0 and RR@10 = 0, while R@100 = 1.
  const wide = Array.from({ length: 12 }, (_, i) => `x${String(i).padStart(2, "0")}`);
  const tie = ranking([...Array(11).keys()], Array(11).fill(1));
  const m = queryMeasures(trecEvalOrder(tie, wide).docs, new Map([[0, 1]]));
  assertEquals(m, { ndcg_10: 0, mrr_10: 0, recall_100: 1 });
});
