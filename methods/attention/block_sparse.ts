// What block-sparse attention methods share: blocks of keys (and of query rows), a score per
// (query block, key block) that each method computes its own way, the selection of the query
// block's own block plus the best-scoring others up to a budget, and attention over the chosen
// blocks' keys. Both on the GPU (select and attend passes) and in the CPU reference.
import { compileCompute, createStorage } from "../../bench/gpu/buffers.ts";
import type { GpuContext } from "../../bench/gpu/device.ts";
import type { ParamSpecs, ParamValues } from "../../bench/metadata.ts";
import { attendWgsl, blockBudget, selectWgsl } from "./block_topk_kernel.ts";
import {
  type AttentionGpuInputs,
  type AttentionInputs,
  type AttentionKernel,
  type AttentionShape,
  queryCount,
  queryOffset,
} from "./interface.ts";

export const BLOCK_WORKGROUP = 64;

export interface BlockSettings {
  block: number;
  density: number;
}

/** The parameters every block-sparse method takes, with the block sizes it sweeps. */
export function blockSparseParameters(blockSweep: number[]): ParamSpecs {
  return {
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
      sweep: blockSweep,
    },
  };
}

export function blockSettings(params: ParamValues): BlockSettings {
  return { block: params.blockSize as number, density: params.density as number };
}

/** Key blocks, query blocks, and for each query block the key blocks it can see. */
export interface BlockGeometry {
  blocks: number;
  queryBlocks: number;
  /** The key block holding the query block's last position: always kept. */
  own(qb: number): number;
  visible(qb: number): number;
}

export function blockGeometry(shape: AttentionShape, block: number): BlockGeometry {
  const blocks = Math.ceil(shape.seq / block);
  const queries = queryCount(shape);
  const own = (qb: number) =>
    Math.floor((queryOffset(shape) + Math.min((qb + 1) * block, queries) - 1) / block);
  return {
    blocks,
    queryBlocks: Math.ceil(queries / block),
    own,
    visible: (qb) => (shape.causal ? own(qb) + 1 : blocks),
  };
}

/**
 * The CPU reference of one query block's selection, given the method's block scores: its own
 * block and the best-scoring others (ties to the lower block), ascending, exactly as the WGSL
 * select pass chooses.
 */
export function chooseBlocksFor(
  geometry: BlockGeometry,
  density: number,
  qb: number,
  score: (kb: number) => number,
): Int32Array {
  const visible = geometry.visible(qb);
  const row = Float64Array.from({ length: visible }, (_, kb) => score(kb));
  const taken = new Uint8Array(visible);
  taken[geometry.own(qb)] = 1;
  for (let n = 1; n < blockBudget(visible, density); n++) {
    let best = -1;
    for (let b = 0; b < visible; b++) if (!taken[b] && (best < 0 || row[b] > row[best])) best = b;
    taken[best] = 1;
  }
  return Int32Array.from([...taken.keys()].filter((b) => taken[b] === 1));
}

/** {@link chooseBlocksFor} for every query block. */
export function chooseBlocks(
  geometry: BlockGeometry,
  density: number,
  scores: (qb: number, kb: number) => number,
): Int32Array[] {
  return Array.from(
    { length: geometry.queryBlocks },
    (_, qb) => chooseBlocksFor(geometry, density, qb, (kb) => scores(qb, kb)),
  );
}

/** The keys of query row `row` given its query block's chosen key blocks, ascending. */
export function keysOfBlocks(
  shape: AttentionShape,
  block: number,
  chosen: Int32Array,
  row: number,
): Int32Array {
  const pos = queryOffset(shape) + row;
  const keys: number[] = [];
  for (const kb of chosen) {
    const last = Math.min((kb + 1) * block, shape.seq) - 1;
    for (let j = kb * block; j <= (shape.causal ? Math.min(last, pos) : last); j++) keys.push(j);
  }
  return Int32Array.from(keys);
}

/**
 * Caches a per-input computation (CPU references are asked row by row, the selection is made
 * once per input).
 */
export function perInputCache<T>(): (inputs: AttentionInputs, key: string, make: () => T) => T {
  const cache = new WeakMap<Float32Array, Map<string, T>>();
  return (inputs, key, make) => {
    let byKey = cache.get(inputs.q);
    if (!byKey) cache.set(inputs.q, byKey = new Map());
    let value = byKey.get(key);
    if (value === undefined) byKey.set(key, value = make());
    return value;
  };
}

/** A compute pass: pipeline, bind group and workgroup counts. */
export type Pass = [GPUComputePipeline, GPUBindGroup, [number, number, number]];

/** What a block-sparse method adds: the passes that fill `scores` (q_blocks × blocks per head). */
export interface BlockScoring {
  /** Compiles its pipelines and records its passes; returns their compile time. */
  build(context: {
    gpu: GpuContext;
    uniforms: GPUBuffer;
    scores: GPUBuffer;
    geometry: BlockGeometry;
    bind(pipeline: GPUComputePipeline, buffers: GPUBuffer[]): GPUBindGroup;
  }): Promise<{ passes: Pass[]; compileMs: number; buffers: GPUBuffer[]; extraFlops: number }>;
}

/** Sets up a block-sparse method: the method's scoring passes, then select and attend. */
export async function setupBlockSparse(
  gpu: GpuContext,
  shape: AttentionShape,
  inputs: AttentionGpuInputs,
  s: BlockSettings,
  scoring: BlockScoring,
): Promise<AttentionKernel> {
  const { device } = gpu;
  const geometry = blockGeometry(shape, s.block);
  const { blocks, queryBlocks } = geometry;
  const queries = queryCount(shape);
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
  view.setUint32(28, blocks, true);
  view.setUint32(32, queries, true);
  view.setUint32(36, queryBlocks, true);
  device.queue.writeBuffer(uniforms, 0, view.buffer);
  const scores = createStorage(device, shape.heads * queryBlocks * blocks * 4, "block-scores");
  const chosen = createStorage(device, shape.heads * queryBlocks * blocks * 4, "chosen-blocks");
  const chosenCount = createStorage(device, shape.heads * queryBlocks * 4, "chosen-count");
  const output = createStorage(
    device,
    shape.heads * queries * shape.headDim * 4,
    "attention-output",
  );
  const visited = createStorage(device, shape.heads * queries * 4, "attention-visited");
  const bind = (pipeline: GPUComputePipeline, buffers: GPUBuffer[]) =>
    device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: buffers.map((buffer, binding) => ({ binding, resource: { buffer } })),
    });
  const [method, select, attend] = await Promise.all([
    scoring.build({ gpu, uniforms, scores, geometry, bind }),
    compileCompute(device, selectWgsl(shape.headDim, blocks), "block-select"),
    compileCompute(device, attendWgsl(shape.headDim), "block-attend"),
  ]);
  const passes: Pass[] = [
    ...method.passes,
    [select.pipeline, bind(select.pipeline, [scores, chosen, chosenCount, uniforms]), [
      Math.ceil(queryBlocks / BLOCK_WORKGROUP),
      shape.heads,
      1,
    ]],
    [
      attend.pipeline,
      bind(attend.pipeline, [
        inputs.q,
        inputs.k,
        inputs.v,
        chosen,
        chosenCount,
        output,
        visited,
        uniforms,
      ]),
      [Math.ceil(queries / BLOCK_WORKGROUP), shape.heads, 1],
    ],
  ];
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
    compileMs: method.compileMs + select.compileMs + attend.compileMs,
    extraFlops: method.extraFlops,
    dispose() {
      for (const b of [uniforms, scores, chosen, chosenCount, output, visited, ...method.buffers]) {
        b.destroy();
      }
    },
  };
}
