// BM25 with Lucene's idf, scored exhaustively document-at-a-time: the family's baseline.
import {
  BM25_PARAMS,
  buildBm25Index,
  defineRetrievalMethod,
} from "../../bench/families/retrieval/mod.ts";

export const bm25 = defineRetrievalMethod({
  id: "bm25",
  family: "retrieval",
  title: "BM25 (exhaustive)",
  fidelity: {
    level: "baseline",
    reason:
      "exhaustive BM25 (Lucene's form): the reference every retrieval method is checked against",
  },
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
  impl: {
    build: (corpus, params) => buildBm25Index(corpus, { ...params, algorithm: "exhaustive" }),
  },
});
