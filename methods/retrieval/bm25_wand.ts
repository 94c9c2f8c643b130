// BM25 answered by WAND dynamic pruning: same top-k as exhaustive BM25, fewer postings scored.
import { defineMethod } from "../../bench/metadata.ts";
import { BM25_PARAMS, bm25Impl, defaultsOnly } from "./bm25.ts";
import type { RetrievalMethod } from "./interface.ts";

export const bm25Wand = defineMethod<RetrievalMethod>({
  id: "bm25-wand",
  family: "retrieval",
  title: "BM25 + WAND",
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
  impl: bm25Impl("wand"),
});
