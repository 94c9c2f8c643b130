// BM25 answered by MaxScore dynamic pruning: same top-k as exhaustive BM25, fewer postings scored.
import {
  BM25_PARAMS,
  buildBm25Index,
  defaultsOnly,
  defineRetrievalMethod,
} from "../../bench/families/retrieval/mod.ts";

export const bm25MaxScore = defineRetrievalMethod({
  id: "bm25-maxscore",
  family: "retrieval",
  title: "BM25 + MaxScore",
  fidelity: {
    level: "faithful",
    reason: "MaxScore as published: exact top-k, equal to exhaustive BM25",
  },
  description:
    "BM25 top-k by MaxScore document-at-a-time: terms whose summed upper bounds cannot beat the k-th score are only probed.",
  paper: {
    title: "Query evaluation: Strategies and optimizations",
    year: 1995,
    link: "https://doi.org/10.1016/0306-4573(95)00020-H",
  },
  version: "1.0.0",
  parameters: defaultsOnly(BM25_PARAMS, ["stopwords"]),
  capabilities: { requires: [], features: ["exact-top-k"] },
  impl: {
    build: (corpus, params) => buildBm25Index(corpus, { ...params, algorithm: "maxscore" }),
  },
});
