// BM25 answered by Block-Max WAND: same top-k as exhaustive BM25, skipping whole posting blocks.
import {
  BM25_PARAMS,
  buildBm25Index,
  defaultsOnly,
  defineRetrievalMethod,
} from "../../bench/families/retrieval/mod.ts";

export const bm25BlockMaxWand = defineRetrievalMethod({
  id: "bm25-bmw",
  family: "retrieval",
  title: "BM25 + Block-Max WAND",
  fidelity: {
    level: "faithful",
    reason: "Block-Max WAND as published: exact top-k, equal to exhaustive BM25",
  },
  description:
    "BM25 top-k by Block-Max WAND over fixed-size blocks of postings (blockSize): WAND pivots are checked against block maxima and hopeless blocks are skipped.",
  paper: {
    title: "Faster top-k document retrieval using block-max indexes",
    year: 2011,
    link: "https://doi.org/10.1145/2009916.2010048",
  },
  version: "1.0.0",
  parameters: {
    ...defaultsOnly(BM25_PARAMS, ["stopwords"]),
    blockSize: {
      type: "int",
      description: "postings per block of the block-max index",
      default: 16,
      min: 1,
      max: 4096,
      sweep: [16, 64],
    },
  },
  capabilities: { requires: [], features: ["exact-top-k"] },
  impl: {
    build: (corpus, params) => buildBm25Index(corpus, { ...params, algorithm: "block-max-wand" }),
  },
});
