// Sliding-window attention: each query attends to a fixed band of neighbouring keys
// (Longformer's local attention; with causal masking, the band of the last `window` keys).
import { defineMethod, type ParamValues } from "../../bench/metadata.ts";
import { setupBandedAttention } from "./banded_kernel.ts";
import {
  type AttentionMethod,
  type AttentionShape,
  densePairsPerHead,
  queryCount,
  queryOffset,
} from "./interface.ts";
import { keyRange } from "./reference.ts";

/** The key band [lo, hi] of `row`, exactly as the WGSL kernel computes it. */
export function windowBand(shape: AttentionShape, window: number, row: number): [number, number] {
  const pos = queryOffset(shape) + row;
  if (shape.causal) return [Math.max(0, pos - window + 1), pos];
  const before = Math.floor(window / 2);
  const after = window - before - 1;
  return [Math.max(0, pos - before), Math.min(shape.seq - 1, pos + after)];
}

function windowOf(params: ParamValues): number {
  return params.window as number;
}

export const slidingWindowAttention = defineMethod<AttentionMethod>({
  id: "sliding-window-attention",
  family: "attention",
  title: "Sliding-window attention",
  description:
    "Each query attends only to the `window` nearest keys (the last `window` keys when causal); cost grows as seq × window instead of seq².",
  paper: {
    title: "Longformer: The Long-Document Transformer",
    year: 2020,
    link: "https://arxiv.org/abs/2004.05150",
  },
  version: "1.0.0",
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
    setup: (gpu, shape, inputs, params) =>
      setupBandedAttention(gpu, shape, inputs, windowOf(params)),
    selectKeys: (shape, params, _inputs, _head, row) =>
      keyRange(...windowBand(shape, windowOf(params), row)),
    nominalDensity(shape, params) {
      let pairs = 0;
      for (let row = 0; row < queryCount(shape); row++) {
        const [lo, hi] = windowBand(shape, windowOf(params), row);
        pairs += hi - lo + 1;
      }
      return pairs / densePairsPerHead(shape);
    },
  },
});
