// Every pruning method, in the order tables list them: the baseline, the floors, then the
// calibrated one-shot methods, the sparse-training methods (evaluated from committed checkpoints,
// `deno task train mnist-mlp-<recipe>`); last, the kernels of the crossover task (feature "spmm"
// only).
import { astSparseTraining } from "./ast.ts";
import { bdwpSparseTraining } from "./bdwp.ts";
import { castSparseTraining } from "./cast.ts";
import { cospadiPruning } from "./cospadi.ts";
import { densePruning } from "./dense.ts";
import { denseTrainedBaseline } from "./dense_trained.ts";
import { dsnotPruning } from "./dsnot.ts";
import { ftwtPruning } from "./ftwt.ts";
import { g2gnetSparseTraining } from "./g2gnet.ts";
import { granetSparseTraining } from "./granet.ts";
import { groupChannelPruning } from "./group_channel.ts";
import { magnitudePruning } from "./magnitude.ts";
import { pgfSparseTraining } from "./pgf.ts";
import { rSparsePruning } from "./r_sparse.ts";
import { randomPruning } from "./random.ts";
import { randomInitSparseTraining } from "./random_init.ts";
import { riglSparseTraining } from "./rigl.ts";
import { setSparseTraining } from "./set.ts";
import { sparseGptPruning } from "./sparsegpt.ts";
import { sparseModelSoups } from "./sparse_model_soups.ts";
import { sortedNet } from "./sortednet.ts";
import { sparseIftSparseTraining } from "./sparse_ift.ts";
import { srSteSparseTraining } from "./sr_ste.ts";
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
  denseTrainedBaseline,
  srSteSparseTraining,
  pgfSparseTraining,
  bdwpSparseTraining,
  astSparseTraining,
  castSparseTraining,
  riglSparseTraining,
  setSparseTraining,
  granetSparseTraining,
  g2gnetSparseTraining,
  randomInitSparseTraining,
  sparseIftSparseTraining,
  sparseModelSoups,
  sortedNet,
  spmmDense,
  spmmCsr,
  spmmNm,
  spmmOnnxruntime,
];
