// WAND (Broder et al. 2003): cursors sorted by document; the pivot is the first document whose
// summed term upper bounds can beat the k-th score; only pivots are fully scored.
import { emptyRanking, type Ranking } from "./interface.ts";
import { type ImpactIndex, slack, type WeightedQuery } from "./impact_index.ts";
import { TopK } from "./top_k.ts";
import { SortedCursors } from "./_wand_cursors.ts";

/** Exact top-k by WAND; returns the same ranking as exhaustive scoring. */
export function wandTopK(index: ImpactIndex, query: WeightedQuery, k: number): Ranking {
  const n = query.terms.length;
  if (n === 0) return emptyRanking();
  if (index.docPrior) throw new Error("WAND here does not support a document prior");
  const c = new SortedCursors(index, query);
  const { impacts } = index;
  const w = query.weights;
  const heap = new TopK(k);
  const none = index.numDocs;
  const hit = new Uint8Array(n);
  const val = new Float64Array(n);
  let scored = 0;
  while (true) {
    const threshold = heap.threshold;
    const bar = threshold - slack(threshold);
    let acc = 0;
    let pivot = -1;
    for (let p = 0; p < n; p++) {
      const i = c.ord[p];
      if (c.doc(i) === none) break;
      acc += c.ub[i];
      if (acc > bar) {
        pivot = p;
        break;
      }
    }
    if (pivot < 0) break;
    const pd = c.doc(c.ord[pivot]);
    while (pivot + 1 < n && c.doc(c.ord[pivot + 1]) === pd) pivot++;
    if (c.doc(c.ord[0]) === pd) {
      hit.fill(0);
      for (let p = 0; p <= pivot; p++) {
        const i = c.ord[p];
        val[i] = w[i] * impacts[c.pos[i]];
        hit[i] = 1;
        c.next(i);
        scored++;
      }
      let s = 0;
      for (let i = 0; i < n; i++) if (hit[i]) s += val[i];
      heap.push(s, pd);
    } else {
      let p = pivot;
      while (c.doc(c.ord[p]) === pd) p--;
      c.advance(c.ord[p], pd);
    }
    c.sort();
  }
  return heap.ranking(scored);
}
