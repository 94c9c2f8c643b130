// Sliding-window attention: each query attends to a fixed band of neighbouring keys
// (Longformer's local attention; with causal masking, the band of the last `window` keys).
import {
  defineAttentionMethod,
  densePairsPerHead,
  keyRange,
  queryCount,
  setupTiledDense,
  windowBand,
} from "../../bench/families/attention/mod.ts";

export const slidingWindowAttention = defineAttentionMethod({
  id: "sliding-window-attention",
  family: "attention",
  title: "Sliding-window attention",
  fidelity: {
    level: "faithful",
    reason:
      "the banded window pattern exactly; Longformer's global tokens and dilation are not part of this method",
  },
  description:
    "Each query attends only to the `window` nearest keys (the last `window` keys when causal); cost grows as seq × window instead of seq².",
  paper: {
    title: "Longformer: The Long-Document Transformer",
    year: 2020,
    link: "https://arxiv.org/abs/2004.05150",
  },
  // 1.1.0: run by the dense baseline's tiled, autotuned kernel (1.0.0: one query per invocation).
  version: "1.1.0",
  parameters: {
    window: {
      type: "int",
      description: "keys each query attends to, itself included",
      default: 128,
      min: 1,
      max: 65536,
      sweep: [64, 128, 256],
    },
  },
  capabilities: { requires: ["webgpu"], features: ["causal", "non-causal"] },
  notes:
    "Non-causal windows are centred: floor(window/2) keys before the query, the rest after it.",
  impl: {
    budgetKnob: { param: "window", direction: "increasing" },
    setup: (gpu, { shape, inputs, params }) =>
      setupTiledDense(gpu, { shape, inputs, window: params.window }),
    selectKeys: ({ shape, params }, _head, row) =>
      keyRange(...windowBand(shape, params.window, row)),
    nominalDensity(shape, params) {
      let pairs = 0;
      for (let row = 0; row < queryCount(shape); row++) {
        const [lo, hi] = windowBand(shape, params.window, row);
        pairs += hi - lo + 1;
      }
      return pairs / densePairsPerHead(shape);
    },
  },
});
