// Block-sparse top-k attention with block summaries (Quest-style): keys are grouped in blocks,
// each summarised by its element-wise min and max; a query block keeps its own block plus the
// blocks whose upper bound on q·k is highest, and attends to their keys only.
import { createStorage } from "../../bench/gpu/buffers.ts";
import {
  assertIterationBounds,
  type AttentionInputs,
  type AttentionShape,
  BLOCK_WORKGROUP,
  type BlockGeometry,
  blockGeometry,
  blockSparseParameters,
  chooseBlocks,
  compilePipeline,
  defineAttentionMethod,
  keysOfBlocks,
  perInputCache,
  queryCount,
  setupBlockSparse,
} from "../../bench/families/attention/mod.ts";
import { blockScoreWgsl, questIterations, summaryWgsl } from "./block_topk_kernel.ts";

/** Keys (and query rows) per block and the share of visible blocks each query block keeps. */
export interface QuestBlocks {
  block: number;
  density: number;
}

/**
 * Quest's block scores in float32, in the kernel's order of operations (so ties and near-ties
 * resolve as on the GPU): per key block the element-wise min and max of its keys, then per
 * (query block, key block) the largest over the block's queries of Σ_d max(q_d·max_d, q_d·min_d).
 */
export function questScores(
  shape: AttentionShape,
  inputs: AttentionInputs,
  s: QuestBlocks,
  geometry: BlockGeometry,
): Float64Array[][] {
  const { heads, seq, headDim: d } = shape;
  const queries = queryCount(shape);
  const f = Math.fround;
  const result: Float64Array[][] = [];
  for (let h = 0; h < heads; h++) {
    const base = h * seq * d;
    const kmin = new Float32Array(geometry.blocks * d);
    const kmax = new Float32Array(geometry.blocks * d);
    for (let b = 0; b < geometry.blocks; b++) {
      const first = b * s.block;
      const last = Math.min(first + s.block, seq);
      for (let i = 0; i < d; i++) {
        let lo = inputs.k[base + first * d + i];
        let hi = lo;
        for (let j = first + 1; j < last; j++) {
          const x = inputs.k[base + j * d + i];
          lo = Math.min(lo, x);
          hi = Math.max(hi, x);
        }
        kmin[b * d + i] = lo;
        kmax[b * d + i] = hi;
      }
    }
    const perBlock: Float64Array[] = [];
    for (let qb = 0; qb < geometry.queryBlocks; qb++) {
      const scores = new Float64Array(geometry.visible(qb));
      const first = qb * s.block;
      const last = Math.min(first + s.block, queries);
      for (let kb = 0; kb < scores.length; kb++) {
        let best = -3.0e38;
        for (let row = first; row < last; row++) {
          const lanes = [0, 0, 0, 0];
          for (let i = 0; i < d; i++) {
            const qv = inputs.q[(h * queries + row) * d + i];
            lanes[i % 4] = f(
              lanes[i % 4] + Math.max(f(qv * kmax[kb * d + i]), f(qv * kmin[kb * d + i])),
            );
          }
          best = Math.max(best, f(f(f(lanes[0] + lanes[1]) + lanes[2]) + lanes[3]));
        }
        scores[kb] = best;
      }
      perBlock.push(scores);
    }
    result.push(perBlock);
  }
  return result;
}

/** The CPU reference of the selection: per head and query block, the chosen key blocks. */
export function selectBlocks(
  shape: AttentionShape,
  inputs: AttentionInputs,
  s: QuestBlocks,
): Int32Array[][] {
  const geometry = blockGeometry(shape, s.block);
  return questScores(shape, inputs, s, geometry).map((perBlock) =>
    chooseBlocks(geometry, s.density, (qb, kb) => perBlock[qb][kb])
  );
}

const cached = perInputCache<Int32Array[][]>();

export const blockTopkAttention = defineAttentionMethod({
  id: "block-topk-attention",
  family: "attention",
  title: "Block-sparse top-k (Quest-style)",
  fidelity: {
    level: "simplified",
    reason:
      "Quest's min/max bound on q·k per key block, but one selection per query block (max over its rows) instead of per decoding query",
  },
  description:
    "Keys in blocks summarised by element-wise min/max; each query block keeps its own block and the blocks with the highest upper bound on q·k, up to `density` of the blocks it can see.",
  paper: {
    title: "Quest: Query-Aware Sparsity for Efficient Long-Context LLM Inference",
    year: 2024,
    link: "https://arxiv.org/abs/2406.10774",
  },
  version: "1.0.0",
  // Quest's pages are 16 tokens; 64 amortizes selection better on this hardware.
  parameters: blockSparseParameters([16, 64]),
  capabilities: { requires: ["webgpu"], features: ["causal", "non-causal"] },
  notes:
    "Quest scores pages per decoding query; here one selection serves a block of queries (the bound's maximum over the block), so prefill and a decoding batch share it. The query block's own (diagonal) block is always kept.",
  impl: {
    budgetKnob: { param: "density", direction: "increasing" },
    setup(gpu, { shape, inputs, params }) {
      const block = params.blockSize;
      return setupBlockSparse(gpu, {
        shape,
        inputs,
        block,
        density: params.density,
        scoring: {
          async build({ gpu, uniforms, scores, geometry, bind }) {
            assertIterationBounds(questIterations(shape.headDim, block));
            const { device } = gpu;
            const summaryBytes = shape.heads * geometry.blocks * shape.headDim * 4;
            const kmin = createStorage(device, summaryBytes, "kmin");
            const kmax = createStorage(device, summaryBytes, "kmax");
            const [summary, score] = await Promise.all([
              compilePipeline(device, summaryWgsl(shape.headDim), "quest-summary"),
              compilePipeline(device, blockScoreWgsl(shape.headDim), "quest-scores"),
            ]);
            // Query rows present × key blocks visible, summed over the query blocks (the last
            // query block may be partial).
            let boundRows = 0;
            for (let qb = 0; qb < geometry.queryBlocks; qb++) {
              boundRows += geometry.visible(qb) * Math.min(block, queryCount(shape) - qb * block);
            }
            return {
              passes: [
                [summary.pipeline, bind(summary.pipeline, [inputs.k, kmin, kmax, uniforms]), [
                  Math.ceil(geometry.blocks / BLOCK_WORKGROUP),
                  shape.heads,
                  1,
                ]],
                [score.pipeline, bind(score.pipeline, [inputs.q, kmin, kmax, scores, uniforms]), [
                  Math.ceil(geometry.blocks / BLOCK_WORKGROUP),
                  geometry.queryBlocks,
                  shape.heads,
                ]],
              ],
              compileMs: summary.compileMs + score.compileMs,
              buffers: [kmin, kmax],
              // Summaries (a min and a max per element of each key but a block's first) and
              // bounds (two products, a max and the sum per element of each query row present,
              // per visible key block).
              extraFlops: shape.heads * shape.headDim *
                (2 * (shape.seq - geometry.blocks) + 4 * boundRows),
            };
          },
        },
      });
    },
    selectKeys({ shape, params, inputs }, head, row) {
      const s = { block: params.blockSize, density: params.density };
      const chosen = cached(
        inputs,
        `${JSON.stringify(shape)}|${s.block}|${s.density}`,
        () => selectBlocks(shape, inputs, s),
      );
      return keysOfBlocks(shape, s.block, chosen[head][Math.floor(row / s.block)], row);
    },
    nominalDensity: (_shape, params) => params.density,
  },
});
