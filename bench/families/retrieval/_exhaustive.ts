// Exhaustive document-at-a-time top-k ("ranked OR"): every posting of every query term is scored.
// The baseline of the dynamic-pruning algorithms, and their reference for the correctness gate.
import { emptyRanking, type Ranking } from "./_interface.ts";
import type { ImpactIndex, WeightedQuery } from "./_impact_index.ts";
import { TopK } from "./_top_k.ts";

/**
 * The k best documents for `query`: each document holding at least one query term is scored as
 * the sum, in canonical term order, of weight × impact (plus the prior, if the index has one).
 */
export function exhaustiveTopK(index: ImpactIndex, query: WeightedQuery, k: number): Ranking {
  const n = query.terms.length;
  if (n === 0) return emptyRanking();
  const { docs, impacts, offsets, docPrior } = index;
  const pos = new Int32Array(n);
  const end = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    pos[i] = offsets[query.terms[i]];
    end[i] = offsets[query.terms[i] + 1];
  }
  const w = query.weights;
  const heap = new TopK(k);
  let scored = 0;
  const none = index.numDocs;
  while (true) {
    let d = none;
    for (let i = 0; i < n; i++) {
      if (pos[i] < end[i] && docs[pos[i]] < d) d = docs[pos[i]];
    }
    if (d === none) break;
    let s = 0;
    for (let i = 0; i < n; i++) {
      if (pos[i] < end[i] && docs[pos[i]] === d) {
        s += w[i] * impacts[pos[i]++];
        scored++;
      }
    }
    if (docPrior) s += query.priorWeight * docPrior[d];
    heap.push(s, d);
  }
  return heap.ranking(scored);
}

const accumulators = new WeakMap<ImpactIndex, Float64Array>();

/**
 * The plain reference: accumulate every posting into a score per document, term by term in
 * canonical order, then offer every touched document to a top-k heap. Same sums, another
 * algorithm.
 */
export function termAtATimeReference(
  index: ImpactIndex,
  query: WeightedQuery,
  k: number,
): Ranking {
  const { docs, impacts, offsets, docPrior } = index;
  let acc = accumulators.get(index);
  if (!acc) accumulators.set(index, acc = new Float64Array(index.numDocs).fill(NaN));
  const touched: number[] = [];
  let scored = 0;
  for (let i = 0; i < query.terms.length; i++) {
    const t = query.terms[i];
    const w = query.weights[i];
    for (let p = offsets[t]; p < offsets[t + 1]; p++) {
      const d = docs[p];
      if (Number.isNaN(acc[d])) {
        acc[d] = 0;
        touched.push(d);
      }
      acc[d] += w * impacts[p];
      scored++;
    }
  }
  const heap = new TopK(k);
  for (const d of touched) {
    heap.push(acc[d] + (docPrior ? query.priorWeight * docPrior[d] : 0), d);
    acc[d] = NaN;
  }
  return heap.ranking(scored);
}
