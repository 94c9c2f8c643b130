// Block-Max WAND (Ding & Suel 2011): WAND whose pivot is also checked against the maxima of the
// blocks holding it; when those cannot beat the k-th score, whole blocks are skipped.
import { emptyRanking, type Ranking } from "./interface.ts";
import { type ImpactIndex, slack, type WeightedQuery } from "./impact_index.ts";
import { TopK } from "./top_k.ts";
import { SortedCursors } from "./_wand_cursors.ts";

/** Exact top-k by Block-Max WAND; returns the same ranking as exhaustive scoring. */
export function blockMaxWandTopK(index: ImpactIndex, query: WeightedQuery, k: number): Ranking {
  const n = query.terms.length;
  if (n === 0) return emptyRanking();
  if (index.docPrior) throw new Error("Block-Max WAND here does not support a document prior");
  const c = new SortedCursors(index, query);
  const { impacts, blockLast, blockMax } = index;
  const w = query.weights;
  const heap = new TopK(k);
  const none = index.numDocs;
  const hit = new Uint8Array(n);
  const val = new Float64Array(n);
  let scored = 0;
  // Moves term i's block cursor to the block that may hold `doc` (shallow: postings stay put).
  const shallow = (i: number, doc: number) => {
    let b = c.block[i];
    while (b < c.blockEnd[i] && blockLast[b] < doc) b++;
    c.block[i] = b;
  };
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
    let blockBound = 0;
    for (let p = 0; p <= pivot; p++) {
      const i = c.ord[p];
      shallow(i, pd);
      if (c.block[i] < c.blockEnd[i]) blockBound += w[i] * blockMax[c.block[i]];
    }
    if (blockBound > bar) {
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
    } else {
      // No document up to the end of the shortest current block can make it: jump past it.
      let next = none;
      let mover = c.ord[pivot];
      for (let p = 0; p <= pivot; p++) {
        const i = c.ord[p];
        const last = c.block[i] < c.blockEnd[i] ? blockLast[c.block[i]] : none;
        if (last + 1 < next) next = last + 1;
        if (c.ub[i] > c.ub[mover]) mover = i;
      }
      if (pivot + 1 < n && c.doc(c.ord[pivot + 1]) < next) next = c.doc(c.ord[pivot + 1]);
      if (next <= pd) next = pd + 1;
      c.advance(mover, next);
    }
    c.sort();
  }
  return heap.ranking(scored);
}
