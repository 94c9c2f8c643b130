// Multi-step (staged) block-sparse attention: methods that keep state across the steps folded
// into the heads (AttentionShape.steps) select each slice's blocks from another slice's scores
// (a pattern computed once and reused), with a per-slice budget, and run in stages so that a
// later stage's scoring can read what an earlier stage's attention left (its row log-sum-exp).
import { createStorage } from "../../gpu/buffers.ts";
import { compilePipeline } from "./_pipelines.ts";
import { createAttentionOutputs } from "./_outputs.ts";
import type { GpuContext } from "../../gpu/device.ts";
import { bindInOrder, encodePasses, type Pass } from "../../gpu/passes.ts";
import { type BlockGeometry, blockGeometry, blockUniforms } from "./_block_sparse.ts";
import {
  BLOCK_UNIFORM_BYTES,
  BLOCK_WORKGROUP,
  blockAttendIterations,
  blockAttendPassWgsl,
  plannedSelectPassWgsl,
} from "./_block_sparse_kernel.ts";
import { assertIterationBound } from "./_iteration_bound.ts";
import { selectBlocksIterations } from "./_wgsl.ts";
import {
  type AttentionGpuInputs,
  type AttentionKernel,
  type AttentionShape,
  queryCount,
} from "./_interface.ts";

/**
 * Which slice's scores (and GPU-computed block count, if any) each slice's selection reads, and
 * the share of visible blocks it keeps otherwise (1: every block, dense attention).
 */
export interface SlicePlan {
  source: number[];
  density: number[];
}

/** Slices [first, first + count), selected and attended after the stage's scoring passes. */
export interface Stage {
  first: number;
  count: number;
  passes: Pass[];
}

/** What a multi-step block-sparse method adds: its scoring passes, stage by stage. */
export interface StagedScoring {
  build(context: {
    gpu: GpuContext;
    geometry: BlockGeometry;
    /** slices × q_blocks × blocks block scores; a slice's selection reads its source's. */
    scores: GPUBuffer;
    /** slices × queries: each row's log-sum-exp, left by its slice's attention. */
    lse: GPUBuffer;
    /** One u32 per slice: a block count overriding the planned density when non-zero. */
    counts: GPUBuffer;
    /** A uniform buffer for passes over slices from `first`, reading lse `lseLag` slices back. */
    uniforms(first: number, lseLag: number): GPUBuffer;
    bind(pipeline: GPUComputePipeline, buffers: GPUBuffer[]): GPUBindGroup;
  }): Promise<{ stages: Stage[]; compileMs: number; buffers: GPUBuffer[]; extraFlops: number }>;
}

/** What {@link setupStagedBlockSparse} sets up. */
export interface StagedBlockSparseOptions {
  shape: AttentionShape;
  inputs: AttentionGpuInputs;
  /** Keys (and query rows) per block. */
  block: number;
  /** The density the uniforms carry (passes that use `p.density` read it). */
  density: number;
  plan: SlicePlan;
  scoring: StagedScoring;
}

/**
 * Sets up a multi-step block-sparse method: per stage, the method's scoring passes, then the
 * planned selection and attention of the stage's slices.
 *
 * @param gpu the device
 * @param options shape, inputs, block size, density, the slice plan and the method's scoring
 * @returns the kernel
 * @throws {RangeError} when the stages do not cover the slices in order
 */
export async function setupStagedBlockSparse(
  gpu: GpuContext,
  options: StagedBlockSparseOptions,
): Promise<AttentionKernel> {
  const { shape, inputs, block, density, plan, scoring } = options;
  const { device } = gpu;
  const geometry = blockGeometry(shape, block);
  const { blocks, queryBlocks } = geometry;
  const queries = queryCount(shape);
  // A block count the method computes on the GPU may keep every block: bound the worst case.
  assertIterationBound("planned-select", selectBlocksIterations(blocks));
  assertIterationBound("staged-attend", blockAttendIterations(shape, block, blocks));
  const owned: GPUBuffer[] = [];
  const own = (b: GPUBuffer) => (owned.push(b), b);
  const uniformsByKey = new Map<string, GPUBuffer>();
  const uniforms = (first: number, lseLag: number) => {
    const key = `${first}|${lseLag}`;
    let buffer = uniformsByKey.get(key);
    if (buffer) return buffer;
    buffer = own(device.createBuffer({
      size: BLOCK_UNIFORM_BYTES,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
    }));
    device.queue.writeBuffer(
      buffer,
      0,
      blockUniforms(shape, { block, density, sliceBase: first, lseLag }),
    );
    uniformsByKey.set(key, buffer);
    return buffer;
  };
  const slices = shape.heads;
  const scores = own(createStorage(device, slices * queryBlocks * blocks * 4, "block-scores"));
  const chosen = own(createStorage(device, slices * queryBlocks * blocks * 4, "chosen-blocks"));
  const chosenCount = own(createStorage(device, slices * queryBlocks * 4, "chosen-count"));
  const lse = own(createStorage(device, slices * queries * 4, "row-lse"));
  const counts = own(createStorage(device, slices * 4, "slice-block-counts"));
  const planSource = own(createStorage(device, slices * 4, "plan-source"));
  const planDensity = own(createStorage(device, slices * 4, "plan-density"));
  device.queue.writeBuffer(planSource, 0, Uint32Array.from(plan.source));
  device.queue.writeBuffer(planDensity, 0, Float32Array.from(plan.density));
  const { output, visited } = createAttentionOutputs(device, shape, { heads: slices });
  own(output);
  own(visited);
  const bind = (pipeline: GPUComputePipeline, buffers: GPUBuffer[]) =>
    bindInOrder(device, pipeline, buffers);
  const [method, select, attend] = await Promise.all([
    scoring.build({ gpu, geometry, scores, lse, counts, uniforms, bind }),
    compilePipeline(device, plannedSelectPassWgsl(shape.headDim), "planned-select"),
    compilePipeline(device, blockAttendPassWgsl(shape.headDim, { lse: true }), "staged-attend"),
  ]);
  let next = 0;
  const passes: Pass[] = [];
  for (const stage of method.stages) {
    if (stage.first !== next || stage.count < 1) {
      throw new RangeError(
        `Cannot stage slices: expected a stage from slice ${next}, found ${stage.first} (+${stage.count})`,
      );
    }
    next += stage.count;
    const u = uniforms(stage.first, 0);
    passes.push(
      ...stage.passes,
      [
        select.pipeline,
        bind(select.pipeline, [scores, chosen, chosenCount, planSource, planDensity, counts, u]),
        [Math.ceil(queryBlocks / BLOCK_WORKGROUP), stage.count, 1],
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
          lse,
          u,
        ]),
        [Math.ceil(queries / BLOCK_WORKGROUP), stage.count, 1],
      ],
    );
  }
  if (next !== slices) {
    throw new RangeError(`Cannot stage slices: the stages cover ${next} of ${slices} slices`);
  }
  return {
    encode: (encoder) => encodePasses(encoder, passes),
    output,
    visited,
    compileMs: method.compileMs + select.compileMs + attend.compileMs,
    extraFlops: method.extraFlops,
    blockChoice: { block, stride: blocks, chosen, counts: chosenCount },
    dispose() {
      for (const b of [...owned, ...method.buffers]) b.destroy();
    },
  };
}
