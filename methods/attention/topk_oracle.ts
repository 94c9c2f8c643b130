// Exact per-query top-k attention: every query scores every key and keeps its k best. It skips
// no scoring work, so it is no faster than dense; it is the upper bound on quality that any
// key-selection method at the same budget can reach.
import { createStorage } from "../../bench/gpu/buffers.ts";
import { bindInOrder, encodePasses, type Pass } from "../../bench/gpu/passes.ts";
import {
  assertIterationBound,
  type AttentionInputs,
  type AttentionShape,
  compilePipeline,
  createAttentionOutputs,
  defineAttentionMethod,
  densePairsPerHead,
  float32Dot4,
  keepCount,
  nearTieSwaps,
  queryCount,
  queryOffset,
} from "../../bench/families/attention/mod.ts";
import {
  ORACLE_STAGES,
  ORACLE_WORKGROUP,
  topkOracleIterations,
  topkOracleWgsl,
} from "./topk_oracle_kernel.ts";

// The scratch buffer of scores must fit one storage binding (128 MiB on most adapters).
const SCRATCH_BYTES = 96 * 1024 * 1024;
// Scores this close to the k-th are a near-tie that rounding on another device may flip.
const TIE_GAP = 1e-4;
// The attend stage's record of taken keys (a bit per visible key and row) is kept when it fits
// this: 64 MiB, 8 heads × 8,192 rows × 8,192 keys. Above it the kernel records nothing and the
// selection figures fall back to the CPU reference (the notes say so).
export const MAX_RECORD_BYTES = 64 * 1024 * 1024;

/** u32 words of the taken-key record per row, or 0 when the case's record would not fit. */
export function recordWords(shape: AttentionShape, maxBytes = MAX_RECORD_BYTES): number {
  const words = Math.ceil(shape.seq / 32);
  return shape.heads * queryCount(shape) * words * 4 <= maxBytes ? words : 0;
}

/** Scaled scores of one row in float32, in the kernel's order of operations. */
export function rowScores(
  shape: AttentionShape,
  inputs: AttentionInputs,
  head: number,
  row: number,
): Float32Array {
  const f = Math.fround;
  const d = shape.headDim;
  const base = head * shape.seq * d;
  const qOff = (head * queryCount(shape) + row) * d;
  const visible = shape.causal ? queryOffset(shape) + row + 1 : shape.seq;
  const scale = f(1 / Math.sqrt(d));
  const qr = Float32Array.from({ length: d }, (_, i) => f(inputs.q[qOff + i] * scale));
  const scores = new Float32Array(visible);
  for (let j = 0; j < visible; j++) {
    scores[j] = float32Dot4(qr, inputs.k, { a: 0, b: base + j * d, length: d });
  }
  return scores;
}

/** Key indices by score, best first, ties by index. */
function ranked(scores: Float32Array): number[] {
  return [...scores.keys()].sort((a, b) => scores[b] - scores[a] || a - b);
}

export const topkOracleAttention = defineAttentionMethod({
  id: "topk-oracle-attention",
  family: "attention",
  title: "Exact per-query top-k (oracle)",
  fidelity: {
    level: "oracle",
    reason:
      "scores every key and keeps each query's exact top-k: the best selection at the budget, at dense cost",
  },
  description:
    "Each query scores every key it can see and attends to its top `density` share of them: the best any key-selection method can do at that budget, at dense cost.",
  paper: {
    title: "Memory-efficient Transformers via Top-k Attention",
    year: 2021,
    link: "https://arxiv.org/abs/2106.06899",
  },
  version: "1.1.0",
  parameters: {
    density: {
      type: "number",
      description: "share of the visible keys each query keeps",
      default: 0.1,
      min: 0.0001,
      max: 1,
      sweep: [0.05, 0.1, 0.2],
    },
  },
  capabilities: { requires: ["webgpu"], features: ["causal", "non-causal"] },
  notes:
    "An upper bound, not a speed-up: it scores every key, so its latency is at least dense's. Rows whose k-th and (k+1)-th scores are within 1e-4 are near-ties the GPU may resolve differently; the correctness check excuses them and says how many. The attend stage records the keys it took in a per-row bitmap (an OR per taken key, a store per 32 visible keys, inside the timed work), read back after timing: mass recall and the other selection figures are the GPU's own selection wherever that record fits 64 MiB (8 heads × 8,192 rows × 8,192 keys); above it they are the CPU reference's keys, which the gate's output and visited checks then stand behind.",
  impl: {
    budgetKnob: { param: "density", direction: "increasing" },
    async setup(gpu, { shape, inputs, params }) {
      assertIterationBound("topk-oracle", topkOracleIterations(shape));
      const { device } = gpu;
      const queries = queryCount(shape);
      const rowsPerChunk = Math.max(
        1,
        Math.min(queries, Math.floor(SCRATCH_BYTES / (shape.heads * shape.seq * 4))),
      );
      const chunks = Math.ceil(queries / rowsPerChunk);
      const { pipeline, compileMs } = await compilePipeline(
        device,
        topkOracleWgsl(shape.headDim),
        "topk-oracle",
      );
      const { output, visited } = createAttentionOutputs(device, shape);
      const scratch = createStorage(
        device,
        shape.heads * rowsPerChunk * shape.seq * 4,
        "topk-scratch",
      );
      const state = createStorage(device, shape.heads * rowsPerChunk * 16, "topk-state");
      const words = recordWords(shape);
      const takenBits = createStorage(
        device,
        Math.max(4, shape.heads * queries * words * 4),
        "topk-taken-bits",
      );
      const uniforms: GPUBuffer[] = [];
      const passes: Pass[] = [];
      for (let c = 0; c < chunks; c++) {
        for (let stage = 0; stage < ORACLE_STAGES; stage++) {
          const u = device.createBuffer({
            size: 48,
            usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
          });
          const view = new DataView(new ArrayBuffer(48));
          [shape.seq, shape.heads, shape.causal ? 1 : 0, c * rowsPerChunk, rowsPerChunk].forEach(
            (x, i) => view.setUint32(i * 4, x, true),
          );
          view.setFloat32(20, 1 / Math.sqrt(shape.headDim), true);
          view.setFloat32(24, params.density, true);
          view.setUint32(28, queries, true);
          view.setUint32(32, stage, true);
          view.setUint32(36, words, true);
          device.queue.writeBuffer(u, 0, view.buffer);
          uniforms.push(u);
          passes.push([
            pipeline,
            bindInOrder(device, pipeline, [
              inputs.q,
              inputs.k,
              inputs.v,
              output,
              visited,
              scratch,
              state,
              u,
              takenBits,
            ]),
            [Math.ceil(rowsPerChunk / ORACLE_WORKGROUP), shape.heads, 1],
          ]);
        }
      }
      return {
        encode: (encoder) => encodePasses(encoder, passes),
        output,
        visited,
        compileMs,
        // Scoring every visible key (2 FLOPs per element of q·k) is the selection's cost.
        extraFlops: shape.heads * densePairsPerHead(shape) * 2 * shape.headDim,
        // Written by the timed attend stage (an OR per taken key, a store per 32 visible keys).
        ...(words > 0 ? { keyChoice: { bitmap: takenBits, words } } : {}),
        dispose() {
          for (const b of [output, visited, scratch, state, takenBits, ...uniforms]) b.destroy();
        },
      };
    },
    selectKeys({ shape, params, inputs }, head, row) {
      const scores = rowScores(shape, inputs, head, row);
      const keep = keepCount(scores.length, params.density);
      return Int32Array.from(ranked(scores).slice(0, keep)).sort();
    },
    ambiguousRow({ shape, params, inputs }, head, row) {
      const scores = rowScores(shape, inputs, head, row);
      const keep = keepCount(scores.length, params.density);
      if (keep >= scores.length) return false;
      const order = ranked(scores);
      return scores[order[keep - 1]] - scores[order[keep]] < TIE_GAP;
    },
    tieAlternatives({ shape, params, inputs }, head, row) {
      const scores = rowScores(shape, inputs, head, row);
      return nearTieSwaps(ranked(scores), keepCount(scores.length, params.density), {
        near: (i, o) => scores[i] - scores[o] < TIE_GAP,
      }).map((keys) => Int32Array.from(keys));
    },
    nominalDensity: (_shape, params) => params.density,
    // Every visible key is scored to choose the top ones.
    scoredPairs: (shape) => shape.heads * densePairsPerHead(shape),
  },
});
