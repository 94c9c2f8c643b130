// Every MoE method, in the order tables list them: the dense baselines first, then the gates.
import { adapter } from "./adapter.ts";
import { fullFinetune } from "./adapter_full.ts";
import { linearProbe } from "./adapter_probe.ts";
import { baseLayer } from "./base.ts";
import { comet } from "./comet.ts";
import { denseFfn } from "./dense_ffn.ts";
import { denseMixture } from "./dense_mixture.ts";
import { dselectK } from "./dselect_k.ts";
import { expertChoice } from "./expert_choice.ts";
import { gshardTop2 } from "./gshard_top2.ts";
import { hashGate } from "./hash.ts";
import { moeLlava } from "./moe_llava.ts";
import { mosa } from "./mosa.ts";
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

// Adapter-tuning methods (task adapter-transfer): the dense adapter first (the reference), MoSA,
// then the floor and the ceiling.
export const adapterMethods = [adapter, mosa, linearProbe, fullFinetune];
