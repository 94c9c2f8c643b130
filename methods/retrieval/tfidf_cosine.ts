// TF-IDF vectors compared by cosine (Salton & Buckley's ltc.ltc weighting), scored exhaustively.
import {
  ANALYZER_PARAMS,
  buildLexicalIndex,
  defaultsOnly,
  defineRetrievalMethod,
  type Postings,
  type Scorer,
} from "../../bench/families/retrieval/mod.ts";

/**
 * ltc weights, (1 + ln tf) · ln(N / df), documents L2-normalized; the query vector is weighted
 * the same way. Its norm is one per query, so it is left out: ranks are exactly cosine's.
 */
export function tfidfCosineScorer(postings: Postings): Scorer {
  const n = postings.numDocs;
  const idf = Float64Array.from(
    { length: postings.terms.length },
    (_, t) => Math.log(n / postings.df(t)),
  );
  const norm2 = new Float64Array(n);
  for (let t = 0; t < postings.terms.length; t++) {
    for (let i = postings.offsets[t]; i < postings.offsets[t + 1]; i++) {
      const w = (1 + Math.log(postings.tfs[i])) * idf[t];
      norm2[postings.docs[i]] += w * w;
    }
  }
  return {
    impact: (t, tf, doc) =>
      norm2[doc] > 0 ? ((1 + Math.log(tf)) * idf[t]) / Math.sqrt(norm2[doc]) : 0,
    queryWeight: (t, count) => (1 + Math.log(count)) * idf[t],
  };
}

export const tfidfCosine = defineRetrievalMethod({
  id: "tfidf-cosine",
  family: "retrieval",
  title: "TF-IDF cosine",
  fidelity: {
    level: "faithful",
    reason: "log-tf × idf vectors ranked by cosine, scored exhaustively",
  },
  description:
    "Vector-space retrieval: log-tf × idf document vectors, L2-normalized, ranked by cosine with the query's vector; exhaustive over the inverted index.",
  paper: {
    title: "Term-weighting approaches in automatic text retrieval",
    year: 1988,
    link: "https://doi.org/10.1016/0306-4573(88)90021-0",
  },
  version: "1.0.0",
  parameters: defaultsOnly(ANALYZER_PARAMS),
  capabilities: { requires: [], features: ["exact-top-k"] },
  impl: {
    build: (corpus, params) =>
      buildLexicalIndex(corpus, {
        ...params,
        scorer: tfidfCosineScorer,
        algorithm: "exhaustive",
        config: { scorer: "tfidf-cosine-ltc" },
      }),
  },
});
