// Task `attention-decoding`: a batch of decoding steps (the last positions' queries) against a
// long KV cache of structured synthetic heads, scored against dense like `attention-fidelity`.
// Decoding is where sparse attention is used most: one query reads the whole cache per step.
import { defineTask } from "../../bench/metadata.ts";
import { attentionFidelity, prepareStructuredCase } from "./attention_fidelity.ts";
import { KEY_NORMS_PARAM, keyNormsOf } from "./generator.ts";

export const attentionDecoding = defineTask({
  id: "attention-decoding",
  family: "attention",
  title: "Attention fidelity when decoding against a KV cache",
  description:
    "The same structured synthetic heads as attention-fidelity; the queries are the last `steps` positions, each attending (causally) to the whole cache of `seq` keys.",
  // 2.0.0: key norms randomized by default (1.0.0's inputs are keyNorms=planted).
  version: "2.0.0",
  mainMetric: "rel_l2_error",
  metrics: attentionFidelity.meta.metrics,
  referenceMethod: "dense-attention",
  dataset: attentionFidelity.meta.dataset,
  parameters: {
    seq: {
      type: "int",
      description: "KV cache length (keys)",
      default: 8192,
      min: 16,
      max: 65536,
      sweep: [8192],
    },
    steps: {
      type: "int",
      description: "decoding steps (queries) in the batch",
      default: 16,
      min: 1,
      max: 1024,
      sweep: [16],
    },
    heads: { type: "int", description: "attention heads", default: 8, min: 1, max: 64, sweep: [8] },
    headDim: {
      type: "int",
      description: "dimension per head (multiple of 4)",
      default: 64,
      min: 4,
      max: 256,
      sweep: [64],
    },
    keyNorms: KEY_NORMS_PARAM,
  },
  profiles: {
    smoke: { seq: [301], steps: [5], heads: [2] },
    quick: { seq: [8192], steps: [16] },
    full: { seq: [1024, 4096, 16384, 32768], steps: [16], keyNorms: ["randomized", "planted"] },
  },
  requiresFeatures: ["causal"],
  // The default suite sweeps budgets on attention-fidelity; here every method runs its defaults.
  quickSweep: false,
  impl: {
    prepare: (caseParams, ctx) =>
      prepareStructuredCase(
        {
          heads: caseParams.heads,
          seq: caseParams.seq,
          headDim: caseParams.headDim,
          causal: true,
          queries: caseParams.steps,
        },
        ctx,
        keyNormsOf(caseParams.keyNorms),
      ),
  },
});
