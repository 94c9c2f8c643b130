// Every attention method, in the order tables list them: baselines and the oracle, then
// training-free selection, gates, multi-step methods, decoding-oriented ones, and the peers.
import { adaspaAttention } from "./adaspa.ts";
import { anchorAttention } from "./anchor_attention.ts";
import { asaAttention } from "./asa.ts";
import { blockTopkAttention } from "./block_topk.ts";
import { denseAttention, densePerQueryAttention } from "./dense.ts";
import { dhsaAttention } from "./dhsa.ts";
import { dhsaTrainedAttention } from "./dhsa_trained.ts";
import { dynamicMaskAttention } from "./dynamic_mask.ts";
import { dynamicMaskTrainedAttention } from "./dynamic_mask_trained.ts";
import { hipAttention } from "./hip.ts";
import { nosaAttention } from "./nosa.ts";
import { nosaTrainedAttention } from "./nosa_trained.ts";
import { ortWasmDenseAttention, ortWebgpuDenseAttention } from "./ort_dense.ts";
import { routingAttention } from "./routing.ts";
import { seerLearnedAttention } from "./seer_learned.ts";
import { seerOracleAttention } from "./seer_oracle.ts";
import { sinkWindowAttention } from "./sink_window.ts";
import { slidingWindowAttention } from "./sliding_window.ts";
import { sparseVditAttention } from "./sparse_vdit.ts";
import { sparsedAttention } from "./sparsed.ts";
import { topkOracleAttention } from "./topk_oracle.ts";
import { verticalSlashAttention } from "./vertical_slash.ts";

export const attentionMethods = [
  denseAttention,
  densePerQueryAttention,
  slidingWindowAttention,
  sinkWindowAttention,
  topkOracleAttention,
  blockTopkAttention,
  verticalSlashAttention,
  routingAttention,
  hipAttention,
  asaAttention,
  seerOracleAttention,
  seerLearnedAttention,
  anchorAttention,
  dhsaAttention,
  dhsaTrainedAttention,
  sparseVditAttention,
  sparsedAttention,
  adaspaAttention,
  nosaAttention,
  nosaTrainedAttention,
  dynamicMaskAttention,
  dynamicMaskTrainedAttention,
  ortWasmDenseAttention,
  ortWebgpuDenseAttention,
];
