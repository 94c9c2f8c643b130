// StreamingLLM's attention: a few initial "sink" tokens plus a sliding window of recent keys.
// The paper's point is that dropping the sinks (plain window attention) breaks the model, because
// softmax parks surplus mass on the first tokens; keeping 4 of them restores it.
import {
  type AttentionShape,
  defineAttentionMethod,
  densePairsPerHead,
  queryCount,
  setupTiledDense,
  windowBand,
} from "../../bench/families/attention/mod.ts";

/** The keys of `row`: sinks [0, sinks) not already in the band, then the band, ascending. */
export function sinkWindowKeys(
  shape: AttentionShape,
  band: { window: number; sinks: number },
  row: number,
): Int32Array {
  const [lo, hi] = windowBand(shape, band.window, row);
  const sinkEnd = Math.min(band.sinks, lo);
  const keys = new Int32Array(sinkEnd + hi - lo + 1);
  for (let j = 0; j < sinkEnd; j++) keys[j] = j;
  for (let j = lo; j <= hi; j++) keys[sinkEnd + j - lo] = j;
  return keys;
}

export const sinkWindowAttention = defineAttentionMethod({
  id: "sink-window-attention",
  family: "attention",
  title: "Sink + window (StreamingLLM)",
  fidelity: {
    level: "faithful",
    reason: "StreamingLLM's pattern exactly: the first sinks tokens plus the recent window",
  },
  description:
    "Each query attends to the first `sinks` tokens (attention sinks) and the `window` most recent keys; everything else is skipped.",
  paper: {
    title: "Efficient Streaming Language Models with Attention Sinks",
    year: 2023,
    link: "https://arxiv.org/abs/2309.17453",
  },
  // 1.1.0: run by the dense baseline's tiled, autotuned kernel (1.0.0: one query per invocation).
  version: "1.1.0",
  parameters: {
    window: {
      type: "int",
      description: "recent keys each query attends to, itself included",
      default: 128,
      min: 1,
      max: 65536,
      sweep: [64, 128, 256],
    },
    sinks: {
      type: "int",
      description: "initial tokens always attended to",
      default: 4,
      min: 0,
      max: 1024,
      sweep: [4],
    },
  },
  capabilities: { requires: ["webgpu"], features: ["causal", "non-causal"] },
  impl: {
    budgetKnob: { param: "window", direction: "increasing" },
    setup: (gpu, { shape, inputs, params }) =>
      setupTiledDense(gpu, { shape, inputs, window: params.window, sinks: params.sinks }),
    selectKeys: ({ shape, params }, _head, row) => sinkWindowKeys(shape, params, row),
    nominalDensity(shape, params) {
      let pairs = 0;
      for (let row = 0; row < queryCount(shape); row++) {
        pairs += sinkWindowKeys(shape, params, row).length;
      }
      return pairs / densePairsPerHead(shape);
    },
  },
});
