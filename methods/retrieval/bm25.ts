// BM25 with Lucene's idf, scored exhaustively document-at-a-time: the family's baseline.
import { defineMethod, type ParamSpecs } from "../../bench/metadata.ts";
import type { RetrievalMethod } from "./interface.ts";
import {
  type Algorithm,
  ANALYZER_PARAMS,
  buildLexicalIndex,
  type Scorer,
} from "./lexical_index.ts";
import type { Postings } from "./postings.ts";

/** Lucene's BM25 idf: ln(1 + (N − df + 0.5) / (df + 0.5)), never negative. */
export function luceneIdf(numDocs: number, df: number): number {
  return Math.log(1 + (numDocs - df + 0.5) / (df + 0.5));
}

/**
 * BM25 as Lucene (8+) scores it: idf · tf / (tf + k1 · (1 − b + b · dl / avgdl)), summed over
 * query term occurrences. Lucene drops the constant (k1 + 1) factor, which does not change ranks.
 */
export function bm25Scorer(postings: Postings, k1: number, b: number): Scorer {
  const n = postings.numDocs;
  const avg = postings.avgDocLen || 1;
  const idf = Float64Array.from(
    { length: postings.terms.length },
    (_, t) => luceneIdf(n, postings.df(t)),
  );
  const norm = Float64Array.from(postings.docLen, (dl) => k1 * (1 - b + (b * dl) / avg));
  return {
    impact: (t, tf, doc) => (idf[t] * tf) / (tf + norm[doc]),
    queryWeight: (_t, count) => count,
  };
}

export const BM25_PARAMS: ParamSpecs = {
  k1: {
    type: "number",
    description: "term-frequency saturation",
    default: 0.9,
    min: 0,
    max: 3,
    sweep: [0.9, 1.2],
  },
  b: {
    type: "number",
    description: "document-length normalization",
    default: 0.4,
    min: 0,
    max: 1,
    sweep: [0.4, 0.75],
  },
  ...ANALYZER_PARAMS,
};

/**
 * The parameters with each one's sweep cut to its default, except those named in `keep` (the
 * pruning variants sweep only what changes their speed most: stopwords, i.e. query length).
 */
export function defaultsOnly(specs: ParamSpecs, keep: readonly string[] = []): ParamSpecs {
  return Object.fromEntries(
    Object.entries(specs).map(([k, s]) => [k, keep.includes(k) ? s : { ...s, sweep: [s.default] }]),
  ) as ParamSpecs;
}

/** BM25 answering with one exact top-k algorithm. */
export function bm25Impl(algorithm: Algorithm): RetrievalMethod {
  return {
    build: (corpus, params) =>
      buildLexicalIndex(
        corpus,
        params,
        (p) => bm25Scorer(p, params.k1 as number, params.b as number),
        algorithm,
        { scorer: "bm25-lucene-idf", k1: params.k1 as number, b: params.b as number },
      ),
  };
}

export const bm25 = defineMethod<RetrievalMethod>({
  id: "bm25",
  family: "retrieval",
  title: "BM25 (exhaustive)",
  description:
    "Okapi BM25 with Lucene's idf over an impact-ordered inverted index; every posting of every query term is scored document-at-a-time (ranked OR). The family's baseline.",
  paper: {
    title: "Okapi at TREC-3",
    year: 1994,
    link: "https://trec.nist.gov/pubs/trec3/papers/city.ps.gz",
  },
  version: "1.0.0",
  parameters: BM25_PARAMS,
  capabilities: { requires: [], features: ["exact-top-k"] },
  notes:
    "Lucene 8+ form without the (k1+1) factor (rank-equivalent); exact document lengths instead of Lucene's one-byte norms.",
  impl: bm25Impl("exhaustive"),
});
