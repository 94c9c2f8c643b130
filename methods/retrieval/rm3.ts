// RM3 pseudo-relevance feedback on BM25 (Abdul-Jaleel et al. 2004, as in Anserini): a relevance
// model from the first pass's top documents expands the query for a second BM25 pass.
import { defineMethod, type ParamValues } from "../../bench/metadata.ts";
import { BM25_PARAMS, bm25Scorer, defaultsOnly } from "./bm25.ts";
import { termAtATimeReference } from "./exhaustive.ts";
import {
  type ImpactIndex,
  impactIndexBytes,
  impactIndexFromPostings,
  type WeightedQuery,
} from "./impact_index.ts";
import type { Corpus, Ranking, RetrievalIndex, RetrievalMethod } from "./interface.ts";
import { analyzerFor, TOP_K } from "./lexical_index.ts";
import {
  buildPostings,
  type ForwardIndex,
  forwardIndex,
  type Postings,
  queryTerms,
  vocabBytes,
} from "./postings.ts";

interface Rm3Settings {
  fbDocs: number;
  fbTerms: number;
  originalWeight: number;
}

/**
 * The expanded query: λ · (original counts, L1-normalized) + (1 − λ) · (the fbTerms heaviest
 * terms of Σ_d w(d) · tf(t, d) / |d| over the first pass's documents, w(d) = score / Σ scores,
 * L1-normalized). Terms in ascending id (the canonical order).
 */
export function rm3Query(
  original: WeightedQuery,
  first: Ranking,
  forward: ForwardIndex,
  postings: Postings,
  s: Rm3Settings,
): WeightedQuery {
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
  const top = [...rm.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0]).slice(0, s.fbTerms);
  const rmSum = top.reduce((a, [, v]) => a + v, 0);
  const qSum = original.weights.reduce((a, b) => a + b, 0);
  const combined = new Map<number, number>();
  original.terms.forEach((t, i) =>
    combined.set(t, (s.originalWeight * original.weights[i]) / qSum)
  );
  for (const [t, v] of top) {
    combined.set(t, (combined.get(t) ?? 0) + ((1 - s.originalWeight) * v) / (rmSum || 1));
  }
  const terms = Int32Array.from(combined.keys()).sort();
  return { terms, weights: Float64Array.from(terms, (t) => combined.get(t)!), priorWeight: 0 };
}

async function buildRm3(corpus: Corpus, params: ParamValues): Promise<RetrievalIndex> {
  const analyzer = await analyzerFor(params);
  const postings = buildPostings(corpus, analyzer);
  const scorer = bm25Scorer(postings, params.k1 as number, params.b as number);
  const index: ImpactIndex = impactIndexFromPostings(postings, scorer.impact);
  const forward = forwardIndex(postings);
  const settings: Rm3Settings = {
    fbDocs: params.fbDocs as number,
    fbTerms: params.fbTerms as number,
    originalWeight: params.originalWeight as number,
  };
  const topK = TOP_K["block-max-wand"];
  const run = (
    text: string,
    k: number,
    pass: (q: WeightedQuery, k: number) => Ranking,
  ): Ranking => {
    const q = queryTerms(postings, analyzer, text);
    const original = { terms: q.terms, weights: q.counts, priorWeight: 0 };
    if (q.terms.length === 0) return pass(original, k);
    const first = pass(original, settings.fbDocs);
    const second = pass(rm3Query(original, first, forward, postings, settings), k);
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
    stats: { vocabulary: postings.terms.length, postings: index.docs.length },
    config: {
      scorer: "bm25-lucene-idf+rm3",
      analyzer: analyzer.name,
      algorithm: "block-max-wand (both passes)",
      ...settings,
    },
    dispose() {},
  };
}

export const bm25Rm3 = defineMethod<RetrievalMethod>({
  id: "bm25-rm3",
  family: "retrieval",
  title: "BM25 + RM3",
  description:
    "RM3 pseudo-relevance feedback: the fbTerms heaviest terms of a relevance model over BM25's top fbDocs documents are mixed into the query for a second BM25 pass (both passes Block-Max WAND, exact).",
  paper: {
    title: "UMass at TREC 2004: Novelty and HARD",
    year: 2004,
    link: "https://scholarworks.umass.edu/cs_faculty_pubs/255/",
  },
  version: "1.0.0",
  parameters: {
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
  },
  capabilities: { requires: [], features: ["exact-top-k"] },
  notes:
    "Document weights of the relevance model are the first-pass BM25 scores normalized to sum 1 (Anserini uses its own scores too); P(t|d) = tf/|d|.",
  impl: { build: (corpus, params) => buildRm3(corpus, params) },
});
