// Effectiveness measures with trec_eval's definitions (ndcg_cut.10, recip_rank cut at 10,
// recall.100), averaged over every judged query as `trec_eval -c` does. They take a ranking in
// the order trec_eval reads it: put it through `trecEvalOrder` first.

/** Relevance grades of one query's judged documents (grade > 0 is relevant). */
export type Judgments = ReadonlyMap<number, number>;

/**
 * nDCG at `cutoff` (trec_eval `ndcg_cut`): gain = grade, discount log2(rank + 1); the ideal
 * ranking orders every judged document by grade.
 */
export function ndcgAt(ranked: ArrayLike<number>, judged: Judgments, cutoff: number): number {
  let dcg = 0;
  for (let i = 0; i < Math.min(cutoff, ranked.length); i++) {
    const gain = judged.get(ranked[i]) ?? 0;
    if (gain > 0) dcg += gain / Math.log2(i + 2);
  }
  const ideal = [...judged.values()].filter((g) => g > 0).sort((a, b) => b - a);
  let idcg = 0;
  for (let i = 0; i < Math.min(cutoff, ideal.length); i++) idcg += ideal[i] / Math.log2(i + 2);
  return idcg > 0 ? dcg / idcg : 0;
}

/** Reciprocal rank of the first relevant document within `cutoff` (0 when none). */
export function reciprocalRankAt(
  ranked: ArrayLike<number>,
  judged: Judgments,
  cutoff: number,
): number {
  for (let i = 0; i < Math.min(cutoff, ranked.length); i++) {
    if ((judged.get(ranked[i]) ?? 0) > 0) return 1 / (i + 1);
  }
  return 0;
}

/** Relevant documents retrieved within `cutoff` / all relevant documents (trec_eval `recall`). */
export function recallAt(ranked: ArrayLike<number>, judged: Judgments, cutoff: number): number {
  let relevant = 0;
  for (const g of judged.values()) if (g > 0) relevant++;
  if (relevant === 0) return 0;
  let found = 0;
  for (let i = 0; i < Math.min(cutoff, ranked.length); i++) {
    if ((judged.get(ranked[i]) ?? 0) > 0) found++;
  }
  return found / relevant;
}

/** The three headline measures of one query's ranking. */
export function queryMeasures(
  ranked: ArrayLike<number>,
  judged: Judgments,
): { ndcg_10: number; mrr_10: number; recall_100: number } {
  return {
    ndcg_10: ndcgAt(ranked, judged, 10),
    mrr_10: reciprocalRankAt(ranked, judged, 10),
    recall_100: recallAt(ranked, judged, 100),
  };
}
