// Every attention method, in the order tables list them.
import { blockTopkAttention } from "./block_topk.ts";
import { denseAttention } from "./dense.ts";
import { ortWasmDenseAttention, ortWebgpuDenseAttention } from "./ort_dense.ts";
import { seerOracleAttention } from "./seer_oracle.ts";
import { sinkWindowAttention } from "./sink_window.ts";
import { slidingWindowAttention } from "./sliding_window.ts";
import { topkOracleAttention } from "./topk_oracle.ts";
import { routingAttention } from "./routing.ts";
import { sparsedAttention } from "./sparsed.ts";
import { adaspaAttention } from "./adaspa.ts";
import { nosaAttention } from "./nosa.ts";
import { dynamicMaskAttention } from "./dynamic_mask.ts";
import { seerLearnedAttention } from "./seer_learned.ts";
import { hipAttention } from "./hip.ts";
import { dhsaAttention } from "./dhsa.ts";
import { verticalSlashAttention } from "./vertical_slash.ts";
import { anchorAttention } from "./anchor_attention.ts";

export const attentionMethods = [
  denseAttention,
  slidingWindowAttention,
  sinkWindowAttention,
  topkOracleAttention,
  blockTopkAttention,
  seerOracleAttention,
  ortWasmDenseAttention,
  ortWebgpuDenseAttention,
  routingAttention,
  sparsedAttention,
  adaspaAttention,
  nosaAttention,
  dynamicMaskAttention,
  seerLearnedAttention,
  hipAttention,
  dhsaAttention,
  verticalSlashAttention,
  anchorAttention,
];
