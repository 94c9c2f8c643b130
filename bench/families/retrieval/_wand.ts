// WAND (Broder et al. 2003): cursors sorted by document; the pivot is the first document whose
// summed term upper bounds can beat the k-th score; only pivots are fully scored.
import { emptyRanking, type Ranking } from "./_interface.ts";
import { type ImpactIndex, slack, type WeightedQuery } from "./_impact_index.ts";
import { TopK } from "./_top_k.ts";
import { cursorsOf } from "./_wand_cursors.ts";

/** Exact top-k by WAND; returns the same ranking as exhaustive scoring. */
export function wandTopK(index: ImpactIndex, query: WeightedQuery, k: number): Ranking {
  const n = query.terms.length;
  if (n === 0) return emptyRanking();
  if (index.docPrior) throw new Error("WAND here does not support a document prior");
  const c = cursorsOf(index);
  c.reset(query);
  const w = query.weights;
  const heap = new TopK(k);
  let scored = 0;
  while (true) {
    const threshold = heap.threshold;
    const bar = threshold - slack(threshold);
    const pivot = c.pivot(bar);
    if (pivot < 0) break;
    scored += c.scoreOrAdvance(pivot, w, heap);
    c.sort();
  }
  return heap.ranking(scored);
}
