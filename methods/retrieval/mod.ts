// Every retrieval method, in the order tables list them.
import { bm25 } from "./bm25.ts";
import { bm25BlockMaxWand } from "./bm25_block_max_wand.ts";
import { bm25MaxScore } from "./bm25_maxscore.ts";
import { bm25TrainTuned } from "./bm25_train_tuned.ts";
import { bm25Wand } from "./bm25_wand.ts";
import { bm25WebGpuCsr } from "./bm25_webgpu_csr.ts";
import { bm25Rm3 } from "./rm3.ts";
import { gloveDense } from "./glove_dense.ts";
import { learnedSparse } from "./learned_sparse.ts";
import { peerFlexSearch } from "./peer_flexsearch.ts";
import { peerLunr } from "./peer_lunr.ts";
import { peerMiniSearch } from "./peer_minisearch.ts";
import { peerWinkBm25 } from "./peer_wink_bm25.ts";
import { queryLikelihood } from "./query_likelihood.ts";
import { tfidfCosine } from "./tfidf_cosine.ts";

export const retrievalMethods = [
  bm25TrainTuned,
  bm25,
  bm25MaxScore,
  bm25Wand,
  bm25BlockMaxWand,
  bm25WebGpuCsr,
  queryLikelihood,
  tfidfCosine,
  bm25Rm3,
  learnedSparse,
  gloveDense,
  peerMiniSearch,
  peerLunr,
  peerFlexSearch,
  peerWinkBm25,
];
