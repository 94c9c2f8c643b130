// Block-sparse top-k attention with block summaries (Quest-style): keys are grouped in blocks,
// each summarised by its element-wise min and max; a query block keeps its own block plus the
// blocks whose upper bound on q·k is highest, and attends to their keys only.
import { compileCompute, createStorage } from "../../bench/gpu/buffers.ts";
import { defineMethod, type ParamValues } from "../../bench/metadata.ts";
import {
  attendWgsl,
  blockBudget,
  blockScoreWgsl,
  selectWgsl,
  summaryWgsl,
} from "./block_topk_kernel.ts";
import {
  type AttentionInputs,
  type AttentionMethod,
  type AttentionShape,
  queryCount,
  queryOffset,
} from "./interface.ts";

const WORKGROUP = 64;

interface Settings {
  block: number;
  density: number;
}

/** Position of the last query row of query block `qb`: it decides the key blocks the block sees. */
function lastPosition(shape: AttentionShape, block: number, qb: number): number {
  return queryOffset(shape) + Math.min((qb + 1) * block, queryCount(shape)) - 1;
}

function settings(params: ParamValues): Settings {
  return { block: params.blockSize as number, density: params.density as number };
}

/**
 * The CPU reference of the selection: for each head and query block, the chosen key blocks in
 * ascending order. Scores are computed in float32 in the kernel's order, so that ties and
 * near-ties resolve as they do on the GPU.
 */
export function selectBlocks(
  shape: AttentionShape,
  inputs: AttentionInputs,
  s: Settings,
): Int32Array[][] {
  const { heads, seq, headDim: d } = shape;
  const queries = queryCount(shape);
  const blocks = Math.ceil(seq / s.block);
  const queryBlocks = Math.ceil(queries / s.block);
  const f = Math.fround;
  const result: Int32Array[][] = [];
  for (let h = 0; h < heads; h++) {
    const base = h * seq * d;
    const kmin = new Float32Array(blocks * d);
    const kmax = new Float32Array(blocks * d);
    for (let b = 0; b < blocks; b++) {
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
    const perBlock: Int32Array[] = [];
    for (let qb = 0; qb < queryBlocks; qb++) {
      const own = lastPosition(shape, s.block, qb) / s.block | 0;
      const visible = shape.causal ? own + 1 : blocks;
      const scores = new Float64Array(visible);
      const first = qb * s.block;
      const last = Math.min(first + s.block, queries);
      for (let kb = 0; kb < visible; kb++) {
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
      const taken = new Uint8Array(visible);
      taken[own] = 1;
      const keep = blockBudget(visible, s.density);
      for (let n = 1; n < keep; n++) {
        let best = -1;
        for (let b = 0; b < visible; b++) {
          if (!taken[b] && (best < 0 || scores[b] > scores[best])) best = b;
        }
        taken[best] = 1;
      }
      perBlock.push(Int32Array.from([...taken.keys()].filter((b) => taken[b] === 1)));
    }
    result.push(perBlock);
  }
  return result;
}

// selectKeys is asked row by row; the selection of a whole input is computed once.
const selectionCache = new WeakMap<Float32Array, Map<string, Int32Array[][]>>();

function cachedSelection(
  shape: AttentionShape,
  inputs: AttentionInputs,
  s: Settings,
): Int32Array[][] {
  let byKey = selectionCache.get(inputs.q);
  if (!byKey) selectionCache.set(inputs.q, byKey = new Map());
  const key = `${JSON.stringify(shape)}|${s.block}|${s.density}`;
  let selection = byKey.get(key);
  if (!selection) byKey.set(key, selection = selectBlocks(shape, inputs, s));
  return selection;
}

export const blockTopkAttention = defineMethod<AttentionMethod>({
  id: "block-topk-attention",
  family: "attention",
  title: "Block-sparse top-k (Quest-style)",
  description:
    "Keys in blocks summarised by element-wise min/max; each query block keeps its own block and the blocks with the highest upper bound on q·k, up to `density` of the blocks it can see.",
  paper: {
    title: "Quest: Query-Aware Sparsity for Efficient Long-Context LLM Inference",
    year: 2024,
    link: "https://arxiv.org/abs/2406.10774",
  },
  version: "1.0.0",
  parameters: {
    density: {
      type: "number",
      description: "share of the visible key blocks each query block keeps",
      default: 0.1,
      min: 0.001,
      max: 1,
      sweep: [0.05, 0.1, 0.2],
    },
    blockSize: {
      type: "int",
      description: "keys (and queries) per block",
      default: 64,
      min: 4,
      max: 1024,
      sweep: [64],
    },
  },
  capabilities: { requires: ["webgpu"], features: ["causal", "non-causal"] },
  notes:
    "Quest scores pages per decoding query; for prefill this takes the bound's maximum over the query block, so one selection serves the block. The query block's own (diagonal) block is always kept.",
  impl: {
    async setup(gpu, shape, inputs, params) {
      const s = settings(params);
      const { device } = gpu;
      const blocks = Math.ceil(shape.seq / s.block);
      const queries = queryCount(shape);
      const queryBlocks = Math.ceil(queries / s.block);
      const maxKeep = blocks;
      const d4 = shape.headDim / 4;
      const uniforms = device.createBuffer({
        size: 48,
        usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
      });
      const view = new DataView(new ArrayBuffer(48));
      [shape.seq, shape.heads, shape.causal ? 1 : 0, s.block, blocks].forEach((x, i) =>
        view.setUint32(i * 4, x, true)
      );
      view.setFloat32(20, s.density, true);
      view.setFloat32(24, 1 / Math.sqrt(shape.headDim), true);
      view.setUint32(28, maxKeep, true);
      view.setUint32(32, queries, true);
      view.setUint32(36, queryBlocks, true);
      device.queue.writeBuffer(uniforms, 0, view.buffer);
      const kmin = createStorage(device, shape.heads * blocks * d4 * 16, "kmin");
      const kmax = createStorage(device, shape.heads * blocks * d4 * 16, "kmax");
      const scores = createStorage(device, shape.heads * queryBlocks * blocks * 4, "block-scores");
      const chosen = createStorage(
        device,
        shape.heads * queryBlocks * maxKeep * 4,
        "chosen-blocks",
      );
      const chosenCount = createStorage(device, shape.heads * queryBlocks * 4, "chosen-count");
      const output = createStorage(
        device,
        shape.heads * queries * shape.headDim * 4,
        "attention-output",
      );
      const visited = createStorage(device, shape.heads * queries * 4, "attention-visited");
      const compiled = await Promise.all([
        compileCompute(device, summaryWgsl(shape.headDim), "block-topk-summary"),
        compileCompute(device, blockScoreWgsl(shape.headDim), "block-topk-scores"),
        compileCompute(device, selectWgsl(shape.headDim, blocks), "block-topk-select"),
        compileCompute(device, attendWgsl(shape.headDim), "block-topk-attend"),
      ]);
      const bind = (pipeline: GPUComputePipeline, buffers: GPUBuffer[]) =>
        device.createBindGroup({
          layout: pipeline.getBindGroupLayout(0),
          entries: buffers.map((buffer, binding) => ({ binding, resource: { buffer } })),
        });
      const [summary, score, select, attend] = compiled.map((c) => c.pipeline);
      const passes: [GPUComputePipeline, GPUBindGroup, [number, number, number]][] = [
        [summary, bind(summary, [inputs.k, kmin, kmax, uniforms]), [
          Math.ceil(blocks / WORKGROUP),
          shape.heads,
          1,
        ]],
        [score, bind(score, [inputs.q, kmin, kmax, scores, uniforms]), [
          Math.ceil(blocks / WORKGROUP),
          queryBlocks,
          shape.heads,
        ]],
        [select, bind(select, [scores, chosen, chosenCount, uniforms]), [
          Math.ceil(queryBlocks / WORKGROUP),
          shape.heads,
          1,
        ]],
        [
          attend,
          bind(attend, [
            inputs.q,
            inputs.k,
            inputs.v,
            chosen,
            chosenCount,
            output,
            visited,
            uniforms,
          ]),
          [Math.ceil(queries / WORKGROUP), shape.heads, 1],
        ],
      ];
      let visibleBlockPairs = 0;
      for (let qb = 0; qb < queryBlocks; qb++) {
        visibleBlockPairs += shape.causal
          ? (lastPosition(shape, s.block, qb) / s.block | 0) + 1
          : blocks;
      }
      return {
        encode(encoder) {
          for (const [pipeline, group, [x, y, z]] of passes) {
            const pass = encoder.beginComputePass();
            pass.setPipeline(pipeline);
            pass.setBindGroup(0, group);
            pass.dispatchWorkgroups(x, y, z);
            pass.end();
          }
        },
        output,
        visited,
        compileMs: compiled.reduce((a, c) => a + c.compileMs, 0),
        // Summaries (2 per key element) and bounds (3 per query element per visible block pair).
        extraFlops: shape.heads *
          (2 * shape.seq * shape.headDim + 3 * s.block * shape.headDim * visibleBlockPairs),
        dispose() {
          for (const b of [uniforms, kmin, kmax, scores, chosen, chosenCount, output, visited]) {
            b.destroy();
          }
        },
      };
    },
    selectKeys(shape, params, inputs, head, row) {
      const s = settings(params);
      const chosen = cachedSelection(shape, inputs, s)[head][Math.floor(row / s.block)];
      const pos = queryOffset(shape) + row;
      const keys: number[] = [];
      for (const kb of chosen) {
        const last = Math.min((kb + 1) * s.block, shape.seq) - 1;
        for (let j = kb * s.block; j <= (shape.causal ? Math.min(last, pos) : last); j++) {
          keys.push(j);
        }
      }
      return Int32Array.from(keys);
    },
    nominalDensity: (_shape, params) => settings(params).density,
  },
});
