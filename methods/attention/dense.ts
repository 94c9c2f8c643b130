// Dense softmax attention: the baseline every attention method is timed and scored against.
import {
  defineAttentionMethod,
  denseKeys,
  setupBandedAttention,
} from "../../bench/families/attention/mod.ts";

export const denseAttention = defineAttentionMethod({
  id: "dense-attention",
  family: "attention",
  title: "Dense attention",
  fidelity: {
    level: "baseline",
    reason: "exact softmax attention over every visible key: the reference of every attention task",
  },
  description:
    "Exact scaled dot-product attention over every (causal) key, one WGSL invocation per query with an online softmax.",
  paper: {
    title: "Attention Is All You Need",
    year: 2017,
    link: "https://arxiv.org/abs/1706.03762",
  },
  version: "1.0.0",
  parameters: {},
  capabilities: { requires: ["webgpu"], features: ["causal", "non-causal"] },
  impl: {
    setup: (gpu, { shape, inputs }) => setupBandedAttention(gpu, { shape, inputs, window: 0 }),
    selectKeys: ({ shape }, _head, row) => denseKeys(shape, row),
    nominalDensity: () => 1,
  },
});
