// BM25 answered by WAND dynamic pruning: same top-k as exhaustive BM25, fewer postings scored.
import {
  BM25_PARAMS,
  buildBm25Index,
  defaultsOnly,
  defineRetrievalMethod,
} from "../../bench/families/retrieval/mod.ts";

export const bm25Wand = defineRetrievalMethod({
  id: "bm25-wand",
  family: "retrieval",
  title: "BM25 + WAND",
  fidelity: {
    level: "faithful",
    reason: "WAND as published: exact top-k, equal to exhaustive BM25",
  },
  description:
    "BM25 top-k by WAND: cursors sorted by document, only pivots whose summed upper bounds can beat the k-th score are scored.",
  paper: {
    title: "Efficient query evaluation using a two-level retrieval process",
    year: 2003,
    link: "https://doi.org/10.1145/956863.956944",
  },
  version: "1.0.0",
  parameters: defaultsOnly(BM25_PARAMS, ["stopwords"]),
  capabilities: { requires: [], features: ["exact-top-k"] },
  impl: {
    build: (corpus, params) => buildBm25Index(corpus, { ...params, algorithm: "wand" }),
  },
});
