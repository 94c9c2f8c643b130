// MaxScore (Turtle & Flood 1995), document-at-a-time: terms whose summed upper bounds cannot lift a
// document over the current k-th score are "non-essential" and are only probed for candidates.
import { emptyRanking, type Ranking } from "./_interface.ts";
import { type ImpactIndex, seek, slack, type WeightedQuery } from "./_impact_index.ts";
import { TopK } from "./_top_k.ts";

/** Exact top-k by MaxScore; returns the same ranking as exhaustive scoring. */
export function maxScoreTopK(index: ImpactIndex, query: WeightedQuery, k: number): Ranking {
  const n = query.terms.length;
  if (n === 0) return emptyRanking();
  if (index.docPrior) throw new Error("MaxScore here does not support a document prior");
  const { docs, impacts, offsets } = index;
  const w = query.weights;
  const pos = new Int32Array(n);
  const end = new Int32Array(n);
  const ub = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const t = query.terms[i];
    pos[i] = offsets[t];
    end[i] = offsets[t + 1];
    ub[i] = w[i] * index.maxImpact[t];
  }
  // Terms by ascending upper bound; prefix[j] = sum of the j smallest bounds.
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => ub[a] - ub[b] || a - b);
  const prefix = new Float64Array(n + 1);
  for (let j = 0; j < n; j++) prefix[j + 1] = prefix[j] + ub[order[j]];

  const heap = new TopK(k);
  const hit = new Uint8Array(n);
  const val = new Float64Array(n);
  let scored = 0;
  let firstEssential = 0;
  const none = index.numDocs;
  while (firstEssential < n) {
    let d = none;
    for (let j = firstEssential; j < n; j++) {
      const i = order[j];
      if (pos[i] < end[i] && docs[pos[i]] < d) d = docs[pos[i]];
    }
    if (d === none) break;
    hit.fill(0);
    let partial = 0;
    for (let j = firstEssential; j < n; j++) {
      const i = order[j];
      if (pos[i] < end[i] && docs[pos[i]] === d) {
        val[i] = w[i] * impacts[pos[i]++];
        hit[i] = 1;
        partial += val[i];
        scored++;
      }
    }
    const threshold = heap.threshold;
    let candidate = true;
    for (let j = firstEssential - 1; j >= 0; j--) {
      if (partial + prefix[j + 1] <= threshold - slack(threshold)) {
        candidate = false;
        break;
      }
      const i = order[j];
      pos[i] = seek(docs, pos[i], end[i], d);
      if (pos[i] < end[i] && docs[pos[i]] === d) {
        val[i] = w[i] * impacts[pos[i]++];
        hit[i] = 1;
        partial += val[i];
        scored++;
      }
    }
    if (!candidate) continue;
    let s = 0;
    for (let i = 0; i < n; i++) if (hit[i]) s += val[i];
    if (heap.push(s, d)) {
      const t = heap.threshold;
      while (firstEssential < n && prefix[firstEssential + 1] <= t - slack(t)) firstEssential++;
    }
  }
  return heap.ranking(scored);
}
