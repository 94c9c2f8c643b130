// Block-Max WAND (Ding & Suel 2011): WAND whose pivot is also checked against the maxima of the
// blocks holding it; when those cannot beat the k-th score, whole blocks are skipped.
import { emptyRanking, type Ranking } from "./_interface.ts";
import { type ImpactIndex, slack, type WeightedQuery } from "./_impact_index.ts";
import { TopK } from "./_top_k.ts";
import { cursorsOf } from "./_wand_cursors.ts";

/** Exact top-k by Block-Max WAND; returns the same ranking as exhaustive scoring. */
export function blockMaxWandTopK(index: ImpactIndex, query: WeightedQuery, k: number): Ranking {
  const n = query.terms.length;
  if (n === 0) return emptyRanking();
  if (index.docPrior) throw new Error("Block-Max WAND here does not support a document prior");
  const c = cursorsOf(index);
  c.reset(query);
  const { blockLast, blockMax } = index;
  const { ord, cur, ub, block, blockEnd } = c;
  const w = query.weights;
  const heap = new TopK(k);
  const none = index.numDocs;
  let scored = 0;
  while (true) {
    const threshold = heap.threshold;
    const bar = threshold - slack(threshold);
    const pivot = c.pivot(bar);
    if (pivot < 0) break;
    const pd = cur[ord[pivot]];
    // Shallow moves: each term's block cursor to the block that may hold the pivot document.
    let blockBound = 0;
    for (let p = 0; p <= pivot; p++) {
      const i = ord[p];
      let b = block[i];
      while (b < blockEnd[i] && blockLast[b] < pd) b++;
      block[i] = b;
      if (b < blockEnd[i]) blockBound += w[i] * blockMax[b];
    }
    if (blockBound > bar) {
      scored += c.scoreOrAdvance(pivot, w, heap);
    } else {
      // No document up to the end of the shortest current block can make it: jump past it.
      let next = none;
      let mover = ord[pivot];
      for (let p = 0; p <= pivot; p++) {
        const i = ord[p];
        const last = block[i] < blockEnd[i] ? blockLast[block[i]] : none;
        if (last + 1 < next) next = last + 1;
        if (ub[i] > ub[mover]) mover = i;
      }
      if (pivot + 1 < n && cur[ord[pivot + 1]] < next) next = cur[ord[pivot + 1]];
      if (next <= pd) next = pd + 1;
      c.advance(mover, next);
    }
    c.sort();
  }
  return heap.ranking(scored);
}
