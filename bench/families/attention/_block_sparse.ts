// What block-sparse attention methods share: blocks of keys (and of query rows), a score per
// (query block, key block) that each method computes its own way, the selection of the query
// block's own block plus the best-scoring others up to a budget, and attention over the chosen
// blocks' keys. Both on the GPU (select and attend passes) and in the CPU reference.
import { createStorage } from "../../gpu/buffers.ts";
import { createAttentionOutputs } from "./_outputs.ts";
import { compilePipeline } from "./_pipelines.ts";
import type { GpuContext } from "../../gpu/device.ts";
import { bindInOrder, encodePasses, type Pass } from "../../gpu/passes.ts";
import {
  BLOCK_UNIFORM_BYTES,
  BLOCK_WORKGROUP,
  blockAttendIterations,
  blockAttendPassWgsl,
  blockSelectPassWgsl,
} from "./_block_sparse_kernel.ts";
import { assertIterationBound } from "./_iteration_bound.ts";
import { selectBlocksIterations } from "./_wgsl.ts";
import { keepCount } from "./_float32.ts";
import {
  type AttentionGpuInputs,
  type AttentionKernel,
  type AttentionShape,
  type KernelBlockChoice,
  queryCount,
  queryOffset,
} from "./_interface.ts";

/**
 * The parameters every block-sparse method takes (`density`, `blockSize`), with the block sizes
 * it sweeps; spread them into a method's `parameters` beside its own.
 */
export function blockSparseParameters(blockSweep: number[]): {
  density: {
    type: "number";
    description: string;
    default: number;
    min: number;
    max: number;
    sweep: number[];
  };
  blockSize: {
    type: "int";
    description: string;
    default: number;
    min: number;
    max: number;
    sweep: number[];
  };
} {
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

/** Key blocks, query blocks, and for each query block the key blocks it can see. */
export interface BlockGeometry {
  blocks: number;
  queryBlocks: number;
  /** Query rows per query block (the last one may hold fewer). */
  queryBlock: number;
  /** The key block holding the query block's last position: always kept. */
  own(qb: number): number;
  visible(qb: number): number;
}

/**
 * The block geometry of `shape` with `block` keys per key block and `queryBlock` query rows per
 * query block (`block` unless given: one selection per square tile; 1 selects for every query
 * row on its own, as Quest does per decoding query).
 *
 * @throws {RangeError} when `queryBlock` is not a positive integer
 */
export function blockGeometry(
  shape: AttentionShape,
  block: number,
  queryBlock: number = block,
): BlockGeometry {
  if (!Number.isInteger(queryBlock) || queryBlock < 1) {
    throw new RangeError(
      `Cannot block query rows as 'queryBlock' must be a positive integer: current value is ${queryBlock}`,
    );
  }
  const blocks = Math.ceil(shape.seq / block);
  const queries = queryCount(shape);
  const own = (qb: number) =>
    Math.floor((queryOffset(shape) + Math.min((qb + 1) * queryBlock, queries) - 1) / block);
  return {
    blocks,
    queryBlocks: Math.ceil(queries / queryBlock),
    queryBlock,
    own,
    visible: (qb) => (shape.causal ? own(qb) + 1 : blocks),
  };
}

/**
 * The CPU reference of one query block's selection, given the method's block scores: its own
 * block and the best-scoring others (ties to the lower block), ascending, exactly as the WGSL
 * select pass chooses; `density` of the visible blocks are kept ({@link keepCount}).
 */
export function chooseBlocksFor(
  geometry: BlockGeometry,
  density: number,
  qb: number,
  score: (kb: number) => number,
): Int32Array {
  return chooseTopBlocks(geometry, keepCount(geometry.visible(qb), density), qb, score);
}

/**
 * {@link chooseBlocksFor} with the number of blocks to keep given (at least the own block, at most
 * the visible ones), for methods whose budget is not a share of the visible blocks.
 */
export function chooseTopBlocks(
  geometry: BlockGeometry,
  keep: number,
  qb: number,
  score: (kb: number) => number,
): Int32Array {
  const visible = geometry.visible(qb);
  const row = Float64Array.from({ length: visible }, (_, kb) => score(kb));
  const taken = new Uint8Array(visible);
  taken[geometry.own(qb)] = 1;
  for (let n = 1; n < Math.min(visible, Math.max(1, keep)); n++) {
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

/** A selection's scores and budget, for {@link boundaryNearTie}. */
export interface BoundaryOptions {
  /** The query block's score of every visible key block. */
  scores: ArrayLike<number>;
  /** Blocks kept, the own block included. */
  keep: number;
  /** Gap, relative to the last kept score, below which two scores are a near-tie. */
  relativeGap: number;
}

/**
 * Whether the budget boundary of a selection by `scores` (own block plus the keep − 1 best
 * others) falls on a near-tie that float32 rounding on the GPU may resolve differently.
 */
export function boundaryNearTie(
  geometry: BlockGeometry,
  qb: number,
  options: BoundaryOptions,
): boolean {
  const { scores, keep, relativeGap } = options;
  const others = Array.from(scores).filter((_, kb) => kb !== geometry.own(qb)).sort((a, b) =>
    b - a
  );
  const extra = Math.min(geometry.visible(qb), Math.max(1, keep)) - 1;
  if (extra <= 0 || extra >= others.length) return false;
  return others[extra - 1] - others[extra] <= relativeGap * Math.abs(others[extra - 1]) + 1e-30;
}

/** What a block-sparse method adds: the passes that fill `scores` (q_blocks × blocks per head). */
export interface BlockScoring {
  /** Compiles its pipelines and records its passes; returns their compile time. */
  build(context: {
    gpu: GpuContext;
    uniforms: GPUBuffer;
    scores: GPUBuffer;
    /**
     * heads × q_blocks u32: how many blocks each query block keeps, for the method's passes to
     * fill where its budget is computed on the GPU (`countedBudget`); unread otherwise.
     */
    keepCounts: GPUBuffer;
    geometry: BlockGeometry;
    bind(pipeline: GPUComputePipeline, buffers: GPUBuffer[]): GPUBindGroup;
  }): Promise<{ passes: Pass[]; compileMs: number; buffers: GPUBuffer[]; extraFlops: number }>;
}

/** What {@link setupBlockSparse} sets up. */
export interface BlockSparseOptions {
  shape: AttentionShape;
  inputs: AttentionGpuInputs;
  /** Keys per key block (and query rows per query block unless `queryBlock` is given). */
  block: number;
  /** Query rows per query block, each with a selection of its own; `block` when absent. */
  queryBlock?: number;
  /** Share of the visible key blocks each query block keeps (unless `countedBudget`). */
  density: number;
  /**
   * Whether each query block keeps the block count the method's passes leave in `keepCounts`
   * instead of `density` of its visible blocks (the uniforms still carry `density`).
   */
  countedBudget?: boolean;
  /** With `countedBudget`, the most blocks any query block may keep (every block when absent). */
  maxKeep?: number;
  /** The method's passes that score the blocks. */
  scoring: BlockScoring;
}

/**
 * A block-sparse kernel's choice as {@link KernelBlockChoice} describes it, with the query rows
 * each listed selection serves: `queryBlock` rows per slot instead of `block`.
 */
export interface QueryBlockedChoice extends KernelBlockChoice {
  queryBlock: number;
}

/**
 * The uniform block of the block passes (see blockParamsWgsl), for slices from `sliceBase` that
 * read the row log-sum-exp `lseLag` slices back.
 */
export function blockUniforms(
  shape: AttentionShape,
  at: { block: number; queryBlock?: number; density: number; sliceBase?: number; lseLag?: number },
): ArrayBuffer {
  const geometry = blockGeometry(shape, at.block, at.queryBlock);
  const view = new DataView(new ArrayBuffer(BLOCK_UNIFORM_BYTES));
  [shape.seq, shape.heads, shape.causal ? 1 : 0, at.block, geometry.blocks].forEach((x, i) =>
    view.setUint32(i * 4, x, true)
  );
  view.setFloat32(20, at.density, true);
  view.setFloat32(24, 1 / Math.sqrt(shape.headDim), true);
  [geometry.blocks, queryCount(shape), geometry.queryBlocks, at.sliceBase ?? 0, at.lseLag ?? 0]
    .forEach((x, i) => view.setUint32(28 + i * 4, x, true));
  view.setUint32(48, geometry.queryBlock, true);
  return view.buffer;
}

/**
 * Sets up a block-sparse method: the method's scoring passes, then select and attend.
 *
 * @param gpu the device
 * @param options shape, inputs, block size, density and the method's scoring
 * @returns the kernel
 */
export async function setupBlockSparse(
  gpu: GpuContext,
  options: BlockSparseOptions,
): Promise<AttentionKernel> {
  const { shape, inputs, block, density, scoring } = options;
  const counted = options.countedBudget ?? false;
  const { device } = gpu;
  const geometry = blockGeometry(shape, block, options.queryBlock);
  const { blocks, queryBlocks, queryBlock } = geometry;
  const queries = queryCount(shape);
  // The most any query block keeps: the select keeps a share of what it sees, or (counted) any
  // number of them.
  const keep = counted ? Math.min(blocks, options.maxKeep ?? blocks) : keepCount(blocks, density);
  assertIterationBound("block-select", selectBlocksIterations(blocks));
  assertIterationBound("block-attend", blockAttendIterations(shape, block, keep));
  const uniforms = device.createBuffer({
    size: BLOCK_UNIFORM_BYTES,
    usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
  });
  device.queue.writeBuffer(uniforms, 0, blockUniforms(shape, { block, queryBlock, density }));
  const scores = createStorage(device, shape.heads * queryBlocks * blocks * 4, "block-scores");
  const chosen = createStorage(device, shape.heads * queryBlocks * blocks * 4, "chosen-blocks");
  const chosenCount = createStorage(device, shape.heads * queryBlocks * 4, "chosen-count");
  const keepCounts = createStorage(device, shape.heads * queryBlocks * 4, "keep-counts");
  const { output, visited } = createAttentionOutputs(device, shape);
  const bind = (pipeline: GPUComputePipeline, buffers: GPUBuffer[]) =>
    bindInOrder(device, pipeline, buffers);
  const [method, select, attend] = await Promise.all([
    scoring.build({ gpu, uniforms, scores, keepCounts, geometry, bind }),
    compilePipeline(
      device,
      blockSelectPassWgsl(shape.headDim, { counted }),
      counted ? "block-select-counted" : "block-select",
    ),
    compilePipeline(device, blockAttendPassWgsl(shape.headDim, { lse: false }), "block-attend"),
  ]);
  const passes: Pass[] = [
    ...method.passes,
    [
      select.pipeline,
      bind(select.pipeline, [
        scores,
        chosen,
        chosenCount,
        uniforms,
        ...(counted ? [keepCounts] : []),
      ]),
      [
        Math.ceil(queryBlocks / BLOCK_WORKGROUP),
        shape.heads,
        1,
      ],
    ],
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
  const blockChoice: QueryBlockedChoice = {
    block,
    queryBlock,
    stride: blocks,
    chosen,
    counts: chosenCount,
  };
  return {
    encode: (encoder) => encodePasses(encoder, passes),
    output,
    visited,
    compileMs: method.compileMs + select.compileMs + attend.compileMs,
    extraFlops: method.extraFlops,
    blockChoice,
    dispose() {
      for (
        const b of [
          uniforms,
          scores,
          chosen,
          chosenCount,
          keepCounts,
          output,
          visited,
          ...method.buffers,
        ]
      ) {
        b.destroy();
      }
    },
  };
}
