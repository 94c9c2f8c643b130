// Every MoE method, in the order tables list them: the dense baselines first, then the gates.
import { baseLayer } from "./base.ts";
import { comet } from "./comet.ts";
import { denseFfn } from "./dense_ffn.ts";
import { denseMixture } from "./dense_mixture.ts";
import { dselectK } from "./dselect_k.ts";
import { expertChoice } from "./expert_choice.ts";
import { gshardTop2 } from "./gshard_top2.ts";
import { hashGate } from "./hash.ts";
import { moeLlava } from "./moe_llava.ts";
import { switchGate } from "./switch.ts";
import { topkSoftmax } from "./topk_softmax.ts";

export const moeMethods = [
  denseMixture,
  denseFfn,
  topkSoftmax,
  switchGate,
  gshardTop2,
  expertChoice,
  hashGate,
  baseLayer,
  dselectK,
  comet,
  moeLlava,
];
