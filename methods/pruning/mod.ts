// Every pruning method, in the order tables list them: the baseline, the floors, then the
// calibrated one-shot methods; last, the kernels of the crossover task (feature "spmm" only).
import { cospadiPruning } from "./cospadi.ts";
import { densePruning } from "./dense.ts";
import { dsnotPruning } from "./dsnot.ts";
import { ftwtPruning } from "./ftwt.ts";
import { groupChannelPruning } from "./group_channel.ts";
import { magnitudePruning } from "./magnitude.ts";
import { rSparsePruning } from "./r_sparse.ts";
import { randomPruning } from "./random.ts";
import { sparseGptPruning } from "./sparsegpt.ts";
import { spmmCsr } from "./spmm_csr.ts";
import { spmmDense } from "./spmm_dense.ts";
import { spmmNm } from "./spmm_nm.ts";
import { spmmOnnxruntime } from "./spmm_onnxruntime.ts";
import { svdLowRankPruning } from "./svd_lowrank.ts";
import { wandaPruning } from "./wanda.ts";

export const pruningMethods = [
  densePruning,
  magnitudePruning,
  randomPruning,
  wandaPruning,
  sparseGptPruning,
  dsnotPruning,
  groupChannelPruning,
  svdLowRankPruning,
  cospadiPruning,
  ftwtPruning,
  rSparsePruning,
  spmmDense,
  spmmCsr,
  spmmNm,
  spmmOnnxruntime,
];
