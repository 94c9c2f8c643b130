// RM3 pseudo-relevance feedback on BM25 (Abdul-Jaleel et al. 2004, as in Anserini): a relevance
// model from the first pass's top documents expands the query for a second BM25 pass.
import {
  analyzerFor,
  BM25_PARAMS,
  bm25Scorer,
  buildPostings,
  type Corpus,
  defaultsOnly,
  defineRetrievalMethod,
  type ForwardIndex,
  forwardIndex,
  type ImpactIndex,
  impactIndexBytes,
  impactIndexFromPostings,
  type Postings,
  queryTerms,
  type Ranking,
  type RetrievalIndex,
  termAtATimeReference,
  TOP_K,
  vocabBytes,
  type WeightedQuery,
} from "../../bench/families/retrieval/mod.ts";
import type { ParamSpecs, ParamValuesOf } from "../../bench/metadata.ts";

const RM3_PARAMS = {
  ...defaultsOnly(BM25_PARAMS),
  fbDocs: {
    type: "int",
    description: "feedback documents",
    default: 10,
    min: 1,
    max: 100,
    sweep: [10],
  },
  fbTerms: {
    type: "int",
    description: "expansion terms",
    default: 10,
    min: 1,
    max: 100,
    sweep: [10],
  },
  originalWeight: {
    type: "number",
    description: "weight λ of the original query",
    default: 0.5,
    min: 0,
    max: 1,
    sweep: [0.5],
  },
} satisfies ParamSpecs;

/** What an RM3 expansion takes from the first pass. */
export interface Rm3Expansion {
  /** The first pass's ranking (its top fbDocs documents). */
  first: Ranking;
  forward: ForwardIndex;
  postings: Postings;
  /** Expansion terms kept. */
  fbTerms: number;
  /** Weight λ of the original query. */
  originalWeight: number;
}

/**
 * The expanded query: λ · (original counts, L1-normalized) + (1 − λ) · (the fbTerms heaviest
 * terms of Σ_d w(d) · tf(t, d) / |d| over the first pass's documents, w(d) = score / Σ scores,
 * L1-normalized). Terms in ascending id (the canonical order).
 */
export function rm3Query(original: WeightedQuery, expansion: Rm3Expansion): WeightedQuery {
  const { first, forward, postings, fbTerms, originalWeight } = expansion;
  const rm = new Map<number, number>();
  let total = 0;
  for (let j = 0; j < first.docs.length; j++) total += first.scores[j];
  for (let j = 0; j < first.docs.length; j++) {
    const d = first.docs[j];
    const dw = total > 0 ? first.scores[j] / total : 1 / first.docs.length;
    const dl = postings.docLen[d] || 1;
    for (let i = forward.start[d]; i < forward.start[d + 1]; i++) {
      const t = forward.terms[i];
      rm.set(t, (rm.get(t) ?? 0) + (dw * forward.tfs[i]) / dl);
    }
  }
  const top = [...rm.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0]).slice(0, fbTerms);
  const rmSum = top.reduce((a, [, v]) => a + v, 0);
  const qSum = original.weights.reduce((a, b) => a + b, 0);
  const combined = new Map<number, number>();
  original.terms.forEach((t, i) => combined.set(t, (originalWeight * original.weights[i]) / qSum));
  for (const [t, v] of top) {
    combined.set(t, (combined.get(t) ?? 0) + ((1 - originalWeight) * v) / (rmSum || 1));
  }
  const terms = Int32Array.from(combined.keys()).sort();
  return { terms, weights: Float64Array.from(terms, (t) => combined.get(t)!), priorWeight: 0 };
}

async function buildRm3(
  corpus: Corpus,
  params: ParamValuesOf<typeof RM3_PARAMS>,
): Promise<RetrievalIndex> {
  const analyzer = await analyzerFor(params);
  const postings = buildPostings(corpus, analyzer);
  const scorer = bm25Scorer(postings, params);
  const index: ImpactIndex = impactIndexFromPostings(postings, scorer.impact);
  const forward = forwardIndex(postings);
  const { fbDocs, fbTerms, originalWeight } = params;
  const topK = TOP_K["block-max-wand"];
  const run = (
    text: string,
    k: number,
    pass: (q: WeightedQuery, k: number) => Ranking,
  ): Ranking => {
    const q = queryTerms(postings, analyzer, text);
    const original = { terms: q.terms, weights: q.counts, priorWeight: 0 };
    if (q.terms.length === 0) return pass(original, k);
    const first = pass(original, fbDocs);
    const expansion = { first, forward, postings, fbTerms, originalWeight };
    const second = pass(rm3Query(original, expansion), k);
    return { ...second, postingsScored: first.postingsScored + second.postingsScored };
  };
  return {
    search: (text, k) => run(text, k, (q, kk) => topK(index, q, kk)),
    reference: {
      description: "both passes by term-at-a-time accumulation and a full sort",
      search: (text, k) => run(text, k, (q, kk) => termAtATimeReference(index, q, kk)),
      maxQueries: null,
      scoreTolerance: 0,
    },
    sizeBytes: impactIndexBytes(index) + vocabBytes(postings.terms) + forward.start.byteLength +
      forward.terms.byteLength + forward.tfs.byteLength,
    stats: {
      vocabulary: postings.terms.length,
      postings: index.docs.length,
      analysis_ms: postings.analysisMs,
    },
    config: {
      scorer: "bm25-lucene-idf+rm3",
      analyzer: analyzer.name,
      algorithm: "block-max-wand (both passes)",
      fbDocs,
      fbTerms,
      originalWeight,
    },
    dispose() {},
  };
}

export const bm25Rm3 = defineRetrievalMethod({
  id: "bm25-rm3",
  family: "retrieval",
  title: "BM25 + RM3",
  fidelity: {
    level: "faithful",
    reason: "RM3 feedback over BM25's top documents, as Anserini does it",
  },
  description:
    "RM3 pseudo-relevance feedback: the fbTerms heaviest terms of a relevance model over BM25's top fbDocs documents are mixed into the query for a second BM25 pass (both passes Block-Max WAND, exact).",
  paper: {
    title: "UMass at TREC 2004: Novelty and HARD",
    year: 2004,
    link: "https://scholarworks.umass.edu/cs_faculty_pubs/255/",
  },
  version: "1.0.0",
  parameters: RM3_PARAMS,
  capabilities: { requires: [], features: ["exact-top-k"] },
  notes:
    "Document weights of the relevance model are the first-pass BM25 scores normalized to sum 1 (Anserini uses its own scores too); P(t|d) = tf/|d|.",
  impl: { build: buildRm3 },
});
