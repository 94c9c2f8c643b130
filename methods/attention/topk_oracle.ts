// Exact per-query top-k attention: every query scores every key and keeps its k best. It skips
// no scoring work, so it is no faster than dense; it is the upper bound on quality that any
// key-selection method at the same budget can reach.
import { createStorage } from "../../bench/gpu/buffers.ts";
import { bindInOrder, encodePasses, type Pass } from "../../bench/gpu/passes.ts";
import type { GpuContext } from "../../bench/gpu/device.ts";
import {
  assertIterationBound,
  type AttentionGpuInputs,
  type AttentionInputs,
  type AttentionKernel,
  type AttentionProblem,
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
// The attend stage's record of taken keys, a bit per visible key and row, is split by query rows
// into bitmaps of at most 64 MiB (one storage binding on any adapter) and kept up to 256 MiB in
// all: 8 heads × 16,384 rows × 16,384 keys, the largest case any profile runs. Above it the
// kernel records nothing and the selection figures fall back to the CPU reference.
export const RECORD_BITMAP_BYTES = 64 * 1024 * 1024;
export const MAX_RECORD_BYTES = 256 * 1024 * 1024;

/** How the taken-key record of a case is laid out, or null when it would not fit. */
export interface RecordLayout {
  /** u32 words per row. */
  words: number;
  /** Query rows per bitmap (a multiple of the rows scored per chunk), the last one holding less. */
  rowsPerBitmap: number;
  /** Bitmaps. */
  bitmaps: number;
}

/** Query rows whose scores one chunk of the kernel's scratch holds. */
export function rowsPerChunk(shape: AttentionShape, scratchBytes = SCRATCH_BYTES): number {
  const byScratch = Math.floor(scratchBytes / (shape.heads * shape.seq * 4));
  return Math.max(1, Math.min(queryCount(shape), byScratch));
}

/**
 * The taken-key record's layout for `shape`: row `row` of head `head` is in bitmap
 * ⌊row / rowsPerBitmap⌋, at word (head · rowsOfThatBitmap + row mod rowsPerBitmap) · words.
 */
export function recordLayout(
  shape: AttentionShape,
  limits: Omit<OracleSizes, "scratchBytes"> & { scratchBytes?: number } = SIZES,
): RecordLayout | null {
  const queries = queryCount(shape);
  const words = Math.ceil(shape.seq / 32);
  const rowBytes = shape.heads * words * 4;
  if (rowBytes * queries > limits.totalBytes) return null;
  const chunk = rowsPerChunk(shape, limits.scratchBytes);
  const rowsPerBitmap = Math.min(
    queries,
    chunk * Math.max(1, Math.floor(limits.bitmapBytes / (rowBytes * chunk))),
  );
  return { words, rowsPerBitmap, bitmaps: Math.ceil(queries / rowsPerBitmap) };
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

/** Sizes the kernel's buffers are held to (tests shrink them to reach several of each). */
export interface OracleSizes {
  /** Bytes of scores one chunk of rows may hold. */
  scratchBytes: number;
  /** Bytes of one bitmap of the taken-key record, and of the whole record. */
  bitmapBytes: number;
  totalBytes: number;
}

const SIZES: OracleSizes = {
  scratchBytes: SCRATCH_BYTES,
  bitmapBytes: RECORD_BITMAP_BYTES,
  totalBytes: MAX_RECORD_BYTES,
};

/**
 * Sets the oracle up on uploaded inputs: six passes per chunk of rows, the attend stage keeping
 * its record of the keys taken where {@link recordLayout} finds room.
 */
export async function setupTopkOracle(
  gpu: GpuContext,
  { shape, inputs, params }: AttentionProblem<AttentionGpuInputs, { density: number }>,
  sizes: OracleSizes = SIZES,
): Promise<AttentionKernel> {
  assertIterationBound("topk-oracle", topkOracleIterations(shape));
  const { device } = gpu;
  const queries = queryCount(shape);
  const chunkRows = rowsPerChunk(shape, sizes.scratchBytes);
  const chunks = Math.ceil(queries / chunkRows);
  const { pipeline, compileMs } = await compilePipeline(
    device,
    topkOracleWgsl(shape.headDim),
    "topk-oracle",
  );
  const { output, visited } = createAttentionOutputs(device, shape);
  const scratch = createStorage(
    device,
    shape.heads * chunkRows * shape.seq * 4,
    "topk-scratch",
  );
  const state = createStorage(device, shape.heads * chunkRows * 16, "topk-state");
  const record = recordLayout(shape, sizes);
  const words = record?.words ?? 0;
  const bitmapRows = record?.rowsPerBitmap ?? queries;
  // Bitmap b holds rows [b · bitmapRows, …) of every head; a 4-byte stand-in when none.
  const bitmaps = Array.from({ length: record?.bitmaps ?? 1 }, (_, b) => {
    const rows = Math.min(bitmapRows, queries - b * bitmapRows);
    return createStorage(device, Math.max(4, shape.heads * rows * words * 4), "topk-taken");
  });
  const uniforms: GPUBuffer[] = [];
  const passes: Pass[] = [];
  for (let c = 0; c < chunks; c++) {
    for (let stage = 0; stage < ORACLE_STAGES; stage++) {
      const u = device.createBuffer({
        size: 48,
        usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
      });
      const view = new DataView(new ArrayBuffer(48));
      [shape.seq, shape.heads, shape.causal ? 1 : 0, c * chunkRows, chunkRows].forEach(
        (x, i) => view.setUint32(i * 4, x, true),
      );
      const bitmap = Math.floor((c * chunkRows) / bitmapRows);
      view.setFloat32(20, 1 / Math.sqrt(shape.headDim), true);
      view.setFloat32(24, params.density, true);
      view.setUint32(28, queries, true);
      view.setUint32(32, stage, true);
      view.setUint32(36, words, true);
      view.setUint32(40, bitmap * bitmapRows, true);
      view.setUint32(44, Math.min(bitmapRows, queries - bitmap * bitmapRows), true);
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
          bitmaps[bitmap],
        ]),
        [Math.ceil(chunkRows / ORACLE_WORKGROUP), shape.heads, 1],
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
    ...(record ? { keyChoice: { bitmaps, words, rowsPerBitmap: bitmapRows } } : {}),
    dispose() {
      for (const b of [output, visited, scratch, state, ...bitmaps, ...uniforms]) b.destroy();
    },
  };
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
    "An upper bound, not a speed-up: it scores every key, so its latency is at least dense's. Rows whose k-th and (k+1)-th scores are within 1e-4 are near-ties the GPU may resolve differently; the correctness check excuses them and says how many. The attend stage records the keys it took in a per-row bitmap (an OR per taken key, a store per 32 visible keys, inside the timed work), read back after timing: mass recall and the other selection figures are the GPU's own selection wherever that record fits 256 MiB (8 heads × 16,384 rows × 16,384 keys, the largest case of any profile; split into bitmaps of at most 64 MiB by query rows); above it they are the CPU reference's keys, which the gate's output and visited checks then stand behind.",
  impl: {
    budgetKnob: { param: "density", direction: "increasing" },
    setup: (gpu, problem) => setupTopkOracle(gpu, problem),
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
