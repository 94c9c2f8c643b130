// WAND (Broder et al. 2003): cursors sorted by document; the pivot is the first document whose
// summed term upper bounds can beat the k-th score; only pivots are fully scored.
import { emptyRanking, type Ranking } from "./interface.ts";
import { type ImpactIndex, slack, type WeightedQuery } from "./impact_index.ts";
import { TopK } from "./top_k.ts";
import { findPivot, SortedCursors } from "./_wand_cursors.ts";

const scratch = new WeakMap<ImpactIndex, SortedCursors>();

/** The cursors of an index, reused across its queries. */
export function cursorsOf(index: ImpactIndex): SortedCursors {
  let c = scratch.get(index);
  if (!c) scratch.set(index, c = new SortedCursors(index));
  return c;
}

/** Exact top-k by WAND; returns the same ranking as exhaustive scoring. */
export function wandTopK(index: ImpactIndex, query: WeightedQuery, k: number): Ranking {
  const n = query.terms.length;
  if (n === 0) return emptyRanking();
  if (index.docPrior) throw new Error("WAND here does not support a document prior");
  const c = cursorsOf(index);
  c.reset(query);
  const { ord, cur, ub } = c;
  const w = query.weights;
  const heap = new TopK(k);
  const none = index.numDocs;
  let scored = 0;
  while (true) {
    const threshold = heap.threshold;
    const bar = threshold - slack(threshold);
    const pivot = findPivot(ord, cur, ub, n, bar, none);
    if (pivot < 0) break;
    scored += c.scoreOrAdvance(pivot, w, heap);
    c.sort();
  }
  return heap.ranking(scored);
}
