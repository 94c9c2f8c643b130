// HiP attention (Hierarchically Pruned Attention): per query block, a tree search estimates the
// top-k key blocks from one representative key per chunk, halving the chunks each level, so
// choosing k of T keys costs O(k log(T/k)) scores instead of T. Training-free; the query block's
// rows attend to the chosen keys plus a sliding window, causally.
import { createStorage } from "../../bench/gpu/buffers.ts";
import type { Pass } from "../../bench/gpu/passes.ts";
import {
  assertIterationBounds,
  type AttentionInputs,
  type AttentionProblem,
  type AttentionShape,
  blockRowGroups,
  compilePipeline,
  defineAttentionMethod,
  densePairsPerHead,
  float32Dot4,
  keepCount,
  MAX_TIE_ALTERNATIVES,
  nearTieSwaps,
  perInputCache,
  queryCount,
  queryOffset,
  relativeNearTie,
  selectedKeys,
  setupKeyMasks,
  topBoundaryIsNearTie,
} from "../../bench/families/attention/mod.ts";
import {
  HIP_WORKGROUP,
  hipInitWgsl,
  hipIterations,
  hipMaskWgsl,
  hipScoreWgsl,
  hipSelectLanes,
  hipSelectWgsl,
} from "./hip_kernel.ts";

// A level's k-th and (k+1)-th candidate scores this close (relatively) are a near-tie.
const TIE_GAP = 1e-4;

/** HiP's parameters, as declared below. */
export type HipParams = {
  density: number;
  /** Query rows sharing one search. */
  blockSizeQ: number;
  /** Keys per key block, the smallest chunk the search splits down to. */
  blockSizeK: number;
  window: number;
  /** "middle" or "first": which key of a chunk scores it. */
  representative: string;
};

/** What one query block searches: its rows, the keys it can see, key blocks, and k. */
export interface HipBlock {
  firstRow: number;
  lastRow: number;
  visible: number;
  /** Key blocks of `blockSizeK` keys over the visible keys (the last may be partial). */
  units: number;
  /** Key blocks kept: enough for `density` of the visible keys, rounded half up. */
  keep: number;
}

export function hipBlock(shape: AttentionShape, s: HipParams, qb: number): HipBlock {
  const firstRow = qb * s.blockSizeQ;
  const lastRow = Math.min(firstRow + s.blockSizeQ, queryCount(shape)) - 1;
  const visible = shape.causal ? queryOffset(shape) + lastRow + 1 : shape.seq;
  const units = Math.ceil(visible / s.blockSizeK);
  const keep = Math.min(units, Math.ceil(keepCount(visible, s.density) / s.blockSizeK));
  return { firstRow, lastRow, visible, units, keep };
}

/** The CPU reference's result for one (head, query block). */
export interface HipChoice {
  /** Chosen keys (whole key blocks, clipped to the visible keys), ascending. */
  keys: Int32Array;
  /** Whether the k-th and (k+1)-th scores were a near-tie at some level. */
  nearTie: boolean;
  /** Levels of the tree that were scored. */
  levels: number;
  /** The chosen keys with one near-tie (at any level) broken the other way, each as `keys`. */
  alternatives: Int32Array[];
}

/**
 * The CPU reference of the tree search, in float32 and in the kernel's order (hip_kernel.ts):
 * k chunks evenly over the key blocks, then split, score by representative key, keep the best k
 * (ties to the earlier candidate) until every chunk is one key block.
 */
export function hipSearch(
  problem: AttentionProblem<AttentionInputs, HipParams>,
  at: { head: number; qb: number },
): HipChoice {
  const { shape, inputs, params: s } = problem;
  const { head, qb } = at;
  const d = shape.headDim;
  const b = hipBlock(shape, s, qb);
  const unitKeys = (units: number[]) =>
    Int32Array.from(
      units.flatMap((u) =>
        Array.from(
          { length: Math.min(u * s.blockSizeK + s.blockSizeK, b.visible) - u * s.blockSizeK },
          (_, i) => u * s.blockSizeK + i,
        )
      ),
    );
  if (b.keep === b.units) {
    return {
      keys: unitKeys([...Array(b.units).keys()]),
      nearTie: false,
      levels: 0,
      alternatives: [],
    };
  }
  const score = (rep: number) => {
    let best = -3.0e38;
    for (let row = b.firstRow; row <= b.lastRow; row++) {
      best = Math.max(
        best,
        float32Dot4(inputs.q, inputs.k, {
          a: (head * queryCount(shape) + row) * d,
          b: (head * shape.seq + rep) * d,
          length: d,
        }),
      );
    }
    return best;
  };
  const level0 = Array.from(
    { length: b.keep },
    (_, i) => [Math.floor((i * b.units) / b.keep), Math.floor(((i + 1) * b.units) / b.keep)],
  );
  const alternatives: Int32Array[] = [];
  // Splits and rescores from `kept` down to single key blocks. With `branch`, every near-tie on
  // the way is also broken the other way (one swap at a time) and searched on from there, into
  // `alternatives`: what the GPU may choose when its rounding flips that tie.
  const descend = (start: number[][], branch: boolean) => {
    let kept = start;
    let nearTie = false;
    let levels = 0;
    while (kept.some(([lo, hi]) => hi - lo > 1)) {
      const candidates = kept.flatMap(([lo, hi]) => {
        if (hi - lo <= 1) return [[lo, hi]];
        const mid = lo + Math.floor((hi - lo + 1) / 2);
        return [[lo, mid], [mid, hi]];
      });
      const scores = candidates.map(([lo, hi]) => {
        const ks = lo * s.blockSizeK;
        const ke = Math.min(hi * s.blockSizeK, b.visible);
        return score(s.representative === "middle" ? ks + Math.floor((ke - ks) / 2) : ks);
      });
      const order = [...scores.keys()].sort((x, y) => scores[y] - scores[x] || x - y);
      if (topBoundaryIsNearTie(scores, b.keep, TIE_GAP)) {
        nearTie = true;
        const swaps = branch
          ? nearTieSwaps(order, b.keep, {
            near: relativeNearTie(scores, TIE_GAP),
          })
          : [];
        for (const survivors of swaps) {
          if (alternatives.length >= MAX_TIE_ALTERNATIVES) break;
          alternatives.push(unitKeys(descend(survivors.map((c) => candidates[c]), false).units));
        }
      }
      const survivors = order.slice(0, b.keep).sort((x, y) => x - y);
      kept = survivors.map((c) => candidates[c]);
      levels++;
    }
    return { units: kept.map(([lo]) => lo), nearTie, levels };
  };
  const { units, nearTie, levels } = descend(level0, true);
  const keys = unitKeys(units);
  return {
    keys,
    nearTie,
    levels,
    alternatives: alternatives.filter((alt) =>
      alt.length !== keys.length || alt.some((k, i) => k !== keys[i])
    ),
  };
}

const cached = perInputCache<HipChoice>();

function choiceOf(
  problem: AttentionProblem<AttentionInputs, HipParams>,
  head: number,
  row: number,
): HipChoice {
  const { shape, inputs, params: s } = problem;
  const qb = Math.floor(row / s.blockSizeQ);
  const key = [s.density, s.blockSizeQ, s.blockSizeK, s.representative].join("|");
  return cached(
    inputs,
    `${JSON.stringify(shape)}|${key}|${head}|${qb}`,
    () => hipSearch(problem, { head, qb }),
  );
}

/**
 * Levels the GPU runs for a query block: until the widest level-0 chunk (⌈units / k⌉ key blocks)
 * is halved down to one. The CPU search may stop a level earlier when every survivor is already a
 * single key block; the GPU's extra level then rescores the k survivors and keeps them all.
 */
export function hipLevels(b: HipBlock): number {
  return Math.ceil(Math.log2(Math.ceil(b.units / b.keep)));
}

/** Scored (query row, representative key) pairs of one query block, at most: 2k per level. */
function searchPairs(b: HipBlock): number {
  return hipLevels(b) * 2 * b.keep * (b.lastRow - b.firstRow + 1);
}

export const hipAttention = defineAttentionMethod({
  id: "hip-attention",
  family: "attention",
  title: "HiP (hierarchically pruned attention)",
  fidelity: {
    level: "simplified",
    reason:
      "HiP's hierarchical chunk search; the budget is a share of visible keys, and SparQ dims, score caching and mask refresh are left out",
  },
  description:
    "Per query block, a tree search over key chunks: each level halves the k kept chunks, scores every half by one representative key (q·k, max over the block's rows) and keeps the best k, until single key blocks remain; the block's rows attend to those keys plus a sliding window.",
  paper: {
    title: "HiP Attention: Sparse Sub-Quadratic Attention with Hierarchical Attention Pruning",
    year: 2024,
    link: "https://arxiv.org/abs/2406.09827",
  },
  version: "1.0.0",
  parameters: {
    density: {
      type: "number",
      description: "share of the visible keys the tree search keeps (k, in key blocks)",
      default: 0.1,
      min: 0.0001,
      max: 1,
      sweep: [0.05, 0.1, 0.2],
    },
    blockSizeQ: {
      type: "int",
      description: "query rows sharing one search (scores are maxima over them)",
      default: 32,
      min: 1,
      max: 1024,
      sweep: [32],
    },
    blockSizeK: {
      type: "int",
      description: "keys per key block, the smallest chunk the search splits down to",
      default: 2,
      min: 1,
      max: 256,
      sweep: [2],
    },
    window: {
      type: "int",
      description: "recent keys every query also attends to (the reference code's sliding window)",
      default: 64,
      min: 0,
      max: 65536,
      sweep: [64],
    },
    representative: {
      type: "enum",
      description: "the key that scores a chunk: its middle one (the paper) or first (v1 code)",
      values: ["middle", "first"],
      default: "middle",
      sweep: ["middle"],
    },
  },
  capabilities: { requires: ["webgpu"], features: ["causal", "non-causal"] },
  notes:
    "The budget is a share of the visible keys rather than the paper's fixed k, so selection is O(k log(T/k)) per query block with k growing with T. The paper (v2 of the arXiv text) takes each chunk's centre token as its representative; the v1 reference code samples the first token (both are offered). Its reference code adds a sliding window (128 by default; 64 here) and no sink tokens, so neither do we beyond `window`. Left out: the paper's SparQ-style reduced dimensions, lower-resolution estimation, score caching across levels, mask refresh across decoding steps and KV offloading. The search runs as GPU passes over chunk lists in a scratch buffer: per level one invocation scores each candidate half and one workgroup per (query block, head) radix-selects the survivors (2 passes per level, so short searches pay dispatch overhead); blocks whose k-th and (k+1)-th candidate scores come within 1e-4 (relative) at any level are excused by the correctness check. The attend pass scans the bitmap of every visible key word, so skipped keys still cost a bit test each.",
  impl: {
    budgetKnob: { param: "density", direction: "increasing" },
    setup(gpu, { shape, inputs, params }) {
      if (shape.seq > 65535) {
        throw new Error(
          `hip-attention supports seq up to 65535 (u32 chunk bounds): got ${shape.seq}`,
        );
      }
      const qBlocks = Math.ceil(queryCount(shape) / params.blockSizeQ);
      const blocks = Array.from({ length: qBlocks }, (_, qb) => hipBlock(shape, params, qb));
      const stride = Math.max(1, ...blocks.map((b) => b.keep));
      return setupKeyMasks(gpu, {
        shape,
        inputs,
        groups: shape.heads * qBlocks,
        rowGroups: blockRowGroups(shape, params.blockSizeQ),
        window: params.window,
        async build({ gpu, uniforms, masks, bind }) {
          assertIterationBounds(hipIterations(shape.headDim, {
            blockQ: params.blockSizeQ,
            blockK: params.blockSizeK,
            stride,
          }));
          const { device } = gpu;
          const chunks = createStorage(
            device,
            shape.heads * qBlocks * 6 * stride * 4,
            "hip-chunks",
          );
          const scores = createStorage(
            device,
            shape.heads * qBlocks * 2 * stride * 4,
            "hip-scores",
          );
          // One uniform buffer per level (the level is its last field); level 0's serves the
          // init and mask passes too.
          const levels = Math.max(1, ...blocks.map(hipLevels));
          const hipUniforms = Array.from({ length: levels }, (_, level) => {
            const buffer = device.createBuffer({
              size: 32,
              usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
            });
            const view = new DataView(new ArrayBuffer(32));
            view.setUint32(0, params.blockSizeQ, true);
            view.setUint32(4, params.blockSizeK, true);
            view.setFloat32(8, params.density, true);
            view.setUint32(12, qBlocks, true);
            view.setUint32(16, stride, true);
            view.setUint32(20, params.representative === "middle" ? 1 : 0, true);
            view.setUint32(24, level, true);
            device.queue.writeBuffer(buffer, 0, view.buffer);
            return buffer;
          });
          const [init, score, select, mask] = await Promise.all([
            compilePipeline(device, hipInitWgsl(), "hip-init"),
            compilePipeline(device, hipScoreWgsl(shape.headDim), "hip-score"),
            compilePipeline(device, hipSelectWgsl(hipSelectLanes(2 * stride)), "hip-select"),
            compilePipeline(device, hipMaskWgsl(), "hip-mask"),
          ]);
          const chunkGroups = Math.ceil(stride / HIP_WORKGROUP);
          const candidateGroups = Math.ceil((2 * stride) / HIP_WORKGROUP);
          const passes: Pass[] = [[
            init.pipeline,
            bind(init.pipeline, [chunks, uniforms, hipUniforms[0]]),
            [chunkGroups, qBlocks, shape.heads],
          ]];
          for (const level of hipUniforms) {
            passes.push([
              score.pipeline,
              bind(score.pipeline, [inputs.q, inputs.k, chunks, scores, uniforms, level]),
              [candidateGroups, qBlocks, shape.heads],
            ], [
              select.pipeline,
              bind(select.pipeline, [chunks, scores, uniforms, level]),
              [qBlocks, shape.heads, 1],
            ]);
          }
          passes.push([
            mask.pipeline,
            bind(mask.pipeline, [chunks, masks, uniforms, hipUniforms[0]]),
            [chunkGroups, qBlocks, shape.heads],
          ]);
          const pairs = blocks.reduce((sum, b) => sum + searchPairs(b), 0);
          return {
            passes,
            compileMs: init.compileMs + score.compileMs + select.compileMs + mask.compileMs,
            buffers: [chunks, scores, ...hipUniforms],
            // A q·k per scored (row, representative) pair, at most 2k candidates per level.
            extraFlops: shape.heads * pairs * 2 * shape.headDim,
          };
        },
      });
    },
    selectKeys(problem, head, row) {
      const group = choiceOf(problem, head, row).keys;
      return selectedKeys(problem.shape, row, { group, window: problem.params.window });
    },
    ambiguousRow: (problem, head, row) => choiceOf(problem, head, row).nearTie,
    tieAlternatives: (problem, head, row) =>
      choiceOf(problem, head, row).alternatives.map((group) =>
        selectedKeys(problem.shape, row, { group, window: problem.params.window })
      ),
    nominalDensity(shape, params) {
      let pairs = 0;
      for (let row = 0; row < queryCount(shape); row++) {
        const visible = shape.causal ? queryOffset(shape) + row + 1 : shape.seq;
        const b = hipBlock(shape, params, Math.floor(row / params.blockSizeQ));
        pairs += Math.min(visible, b.keep * params.blockSizeK + params.window);
      }
      return Math.min(1, pairs / densePairsPerHead(shape));
    },
  },
});
