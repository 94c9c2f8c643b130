// Dense softmax attention: the baseline every attention method is timed and scored against, and
// the kernel it replaced (one query per invocation), kept as its own row so its figures stay
// comparable with earlier runs.
import {
  defineAttentionMethod,
  denseKeys,
  setupBandedAttention,
  setupTiledDense,
} from "../../bench/families/attention/mod.ts";

const PAPER = {
  title: "Attention Is All You Need",
  year: 2017,
  link: "https://arxiv.org/abs/1706.03762",
} as const;

export const denseAttention = defineAttentionMethod({
  id: "dense-attention",
  family: "attention",
  title: "Dense attention",
  fidelity: {
    level: "baseline",
    reason: "exact softmax attention over every visible key: the reference of every attention task",
  },
  description:
    "Exact scaled dot-product attention over every (causal) key, built like FlashAttention-2: several query rows per invocation reuse each loaded key and value, keys scored in chunks share one rescale of the online softmax, optionally K/V tiles in workgroup memory; the variant fastest on the adapter is chosen by timing each on the case at setup (sparsity.kernel, kernel_tune_ms).",
  paper: PAPER,
  // 2.0.0: the tiled, autotuned kernel (1.0.0 was one query per invocation, now
  // dense-attention-per-query).
  version: "2.0.0",
  parameters: {},
  capabilities: { requires: ["webgpu"], features: ["causal", "non-causal"] },
  impl: {
    setup: (gpu, { shape, inputs }) => setupTiledDense(gpu, { shape, inputs }),
    selectKeys: ({ shape }, _head, row) => denseKeys(shape, row),
    nominalDensity: () => 1,
  },
});

export const densePerQueryAttention = defineAttentionMethod({
  id: "dense-attention-per-query",
  family: "attention",
  title: "Dense attention (one query per invocation)",
  fidelity: {
    level: "baseline",
    reason:
      "exact softmax attention over every visible key by the simple kernel the banded methods share: the dense baseline before the tiled kernel",
  },
  description:
    "Exact scaled dot-product attention over every (causal) key, one WGSL invocation per query streaming every key with a per-key online-softmax rescale: the banded kernel (sliding window, sinks) at window 0, and dense-attention 1.0.0.",
  paper: PAPER,
  version: "1.0.0",
  parameters: {},
  capabilities: { requires: ["webgpu"], features: ["causal", "non-causal"] },
  impl: {
    setup: (gpu, { shape, inputs }) => setupBandedAttention(gpu, { shape, inputs, window: 0 }),
    selectKeys: ({ shape }, _head, row) => denseKeys(shape, row),
    nominalDensity: () => 1,
  },
});
