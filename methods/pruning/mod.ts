// Every pruning method, in the order tables list them: the baseline, the floors, then the
// calibrated one-shot methods.
import { cospadiPruning } from "./cospadi.ts";
import { densePruning } from "./dense.ts";
import { dsnotPruning } from "./dsnot.ts";
import { ftwtPruning } from "./ftwt.ts";
import { groupChannelPruning } from "./group_channel.ts";
import { magnitudePruning } from "./magnitude.ts";
import { rSparsePruning } from "./r_sparse.ts";
import { randomPruning } from "./random.ts";
import { sparseGptPruning } from "./sparsegpt.ts";
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
];
