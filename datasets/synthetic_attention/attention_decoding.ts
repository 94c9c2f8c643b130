// Task `attention-decoding`: a batch of decoding steps (the last positions' queries) against a
// long KV cache of structured synthetic heads, scored against dense like `attention-fidelity`.
// Decoding is where sparse attention is used most: one query reads the whole cache per step.
import { defineTask } from "../../bench/metadata.ts";
import type { PreparedCase } from "../../bench/plugin.ts";
import { attentionFidelity, prepareStructuredCase } from "./attention_fidelity.ts";
import { KEY_NORMS_PARAM, keyNormsOf } from "./generator.ts";

export const attentionDecoding = defineTask({
  id: "attention-decoding",
  family: "attention",
  title: "Attention fidelity when decoding against a KV cache",
  description:
    "The same structured synthetic heads as attention-fidelity; the queries are the last `steps` positions, each attending (causally) to the whole cache of `seq` keys.",
  // 2.0.0: key norms randomized by default (1.0.0's inputs are keyNorms=planted).
  // 2.1.0: kv_bytes_per_step.
  // 3.0.0: heads split into model (fixed structure) and input (prompt); held-out calibration.
  version: "3.0.0",
  mainMetric: "rel_l2_error",
  metrics: [
    ...attentionFidelity.meta.metrics,
    {
      name: "kv_bytes_per_step",
      description:
        "bytes of K and V read per decoding step, all heads, float32: the keys the kernel attended (its own visited counts) × 2 × headDim × 4; dense reads every cached key (NOSA's offloading claim and any memory-bound GPU pay this)",
      higherIsBetter: false,
      unit: "B",
    },
  ],
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
    async prepare(caseParams, ctx) {
      const { heads, seq, headDim, steps } = caseParams;
      const prepared = await prepareStructuredCase(
        { heads, seq, headDim, causal: true, queries: steps },
        ctx,
        keyNormsOf(caseParams.keyNorms),
      );
      return withKvBytes(prepared, { heads, seq, headDim, steps });
    },
  },
});

/**
 * Keys visible to the `steps` last positions of a causal cache of `seq`, summed over the steps.
 */
function visibleKeys(seq: number, steps: number): number {
  let n = 0;
  for (let i = 0; i < steps; i++) n += seq - steps + 1 + i;
  return n;
}

/**
 * The case with `kv_bytes_per_step` added to every cell: the attended share of the visible keys
 * (from the kernel's own visited counts) turned into K and V bytes per step.
 */
export function withKvBytes(
  prepared: PreparedCase,
  shape: { heads: number; seq: number; headDim: number; steps: number },
): PreparedCase {
  const bytesPerKey = 2 * shape.headDim * 4;
  const densePerStep = (shape.heads * visibleKeys(shape.seq, shape.steps)) / shape.steps;
  return {
    ...prepared,
    async bind(method, params) {
      const trial = await prepared.bind(method, params);
      return {
        ...trial,
        sample: (info) => trial.sample(info),
        async finish() {
          const result = await trial.finish();
          const share = result.metrics.attended_key_share;
          if (share === undefined) return result;
          return {
            ...result,
            metrics: { ...result.metrics, kv_bytes_per_step: share * densePerStep * bytesPerKey },
          };
        },
        dispose: () => trial.dispose(),
      };
    },
    referenceMetrics: (method, params) => prepared.referenceMetrics(method, params),
    dispose: () => prepared.dispose(),
  };
}
