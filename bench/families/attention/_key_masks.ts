// What key-selection methods share: a bitmap per head (columns), per head (diagonal offsets),
// and per group of rows (any key set), a local window, and one attend pass over their union —
// on the GPU (_key_masks_kernel.ts) and in the CPU reference. A method supplies the passes that
// fill the bitmaps each computation, and which group each query row belongs to.
import { createStorage, uploadStorage } from "../../gpu/buffers.ts";
import { createAttentionOutputs } from "./_outputs.ts";
import { compilePipeline } from "./_pipelines.ts";
import type { GpuContext } from "../../gpu/device.ts";
import { bindInOrder, encodePasses, type Pass } from "../../gpu/passes.ts";
import {
  type AttentionGpuInputs,
  type AttentionKernel,
  type AttentionShape,
  queryCount,
  queryOffset,
} from "./_interface.ts";
import {
  maskedAttendIterations,
  maskedAttendWgsl,
  maskedMergeIterations,
  maskedMergeWgsl,
  MASKS_WORKGROUP,
  maxRangeWords,
  TOPK_STAGES,
  topkIterations,
  topkToMaskWgsl,
} from "./_key_masks_kernel.ts";
import { assertIterationBound } from "./_iteration_bound.ts";

/** u32 words of one bitmap over `seq` keys. */
export function maskWords(seq: number): number {
  return Math.ceil(seq / 32);
}

/** Word offsets of the three sections of the masks buffer (see _key_masks_kernel.ts). */
export interface MaskLayout {
  words: number;
  groups: number;
  headAt(head: number): number;
  diagAt(head: number): number;
  groupAt(group: number): number;
  totalWords: number;
}

export function maskLayout(shape: AttentionShape, groups: number): MaskLayout {
  const words = maskWords(shape.seq);
  return {
    words,
    groups,
    headAt: (h) => h * words,
    diagAt: (h) => (shape.heads + h) * words,
    groupAt: (g) => (2 * shape.heads + g) * words,
    totalWords: (2 * shape.heads + groups) * words,
  };
}

/** The parts of one row's selection, for the CPU reference. Index lists need not be sorted. */
export interface RowSelection {
  /** Keys every row of the head attends to. */
  columns?: ArrayLike<number>;
  /** Offsets o ≥ 0: the row at position t attends to key t − o. */
  diagonals?: ArrayLike<number>;
  /** Offsets 0 .. window − 1 (the local window). */
  window?: number;
  /** The keys of the row's group. */
  group?: ArrayLike<number>;
}

/** The CPU reference of the attend pass: the sorted union of a row's parts it may see. */
export function selectedKeys(shape: AttentionShape, row: number, parts: RowSelection): Int32Array {
  const pos = queryOffset(shape) + row;
  const last = shape.causal ? pos : shape.seq - 1;
  const chosen = new Uint8Array(last + 1);
  const mark = (j: number) => {
    if (j >= 0 && j <= last) chosen[j] = 1;
  };
  for (const j of Array.from(parts.columns ?? [])) mark(j);
  for (const j of Array.from(parts.group ?? [])) mark(j);
  for (const o of Array.from(parts.diagonals ?? [])) mark(pos - o);
  for (let o = 0; o < (parts.window ?? 0); o++) mark(pos - o);
  const keys: number[] = [];
  chosen.forEach((c, j) => c && keys.push(j));
  return Int32Array.from(keys);
}

/**
 * The CPU reference of the top-k pass: the indices of the `keep` largest scores, ties to the
 * lower index, scores at or below −1e38 never, ascending.
 */
export function topIndices(scores: ArrayLike<number>, keep: number): Int32Array {
  const eligible = Array.from({ length: scores.length }, (_, j) => j).filter((j) =>
    scores[j] > -1e38
  );
  eligible.sort((a, b) => scores[b] - scores[a] || a - b);
  return Int32Array.from(eligible.slice(0, keep)).sort();
}

/**
 * Whether the boundary of a top-`keep` choice is a near-tie (relative gap below `gap`) that float
 * rounding on another device may resolve differently.
 */
export function topBoundaryIsNearTie(scores: ArrayLike<number>, keep: number, gap = 1e-4): boolean {
  const sorted = Array.from(scores).filter((s) => s > -1e38).sort((a, b) => b - a);
  if (keep <= 0 || keep >= sorted.length) return false;
  const [inside, outside] = [sorted[keep - 1], sorted[keep]];
  return inside - outside <= gap * Math.max(Math.abs(inside), Math.abs(outside), 1e-30);
}

/** Context a method's selection passes are built in. */
export interface MaskContext {
  gpu: GpuContext;
  /** The shared 32-byte uniforms (MASKS_PARAMS). */
  uniforms: GPUBuffer;
  /** Cleared to zero before every computation; the method's passes set bits. */
  masks: GPUBuffer;
  /** heads × queries u32: the group of each row (static from `rowGroups`, or written by a pass). */
  rowGroup: GPUBuffer;
  layout: MaskLayout;
  bind(pipeline: GPUComputePipeline, buffers: GPUBuffer[]): GPUBindGroup;
  /**
   * Passes choosing, per segment of `len` scores (segment s at scores[s·stride]), the top
   * keeps[s] and setting them as bits of the bitmap at word `section + s·words`.
   */
  topkPass(spec: {
    scores: GPUBuffer;
    keeps: GPUBuffer;
    segments: number;
    len: number;
    stride: number;
    section: number;
  }): Promise<{ passes: Pass[]; compileMs: number; buffers: GPUBuffer[] }>;
}

/** What a key-selection method supplies. */
export interface MaskSelection {
  /** Groups of rows (their bitmaps), across all heads. */
  groups: number;
  /** The group of each row (heads × queries), or absent when a pass writes `rowGroup`. */
  rowGroups?: Uint32Array;
  /** Local window every row attends to (offsets 0 .. window − 1). */
  window: number;
  build(context: MaskContext): Promise<{
    passes: Pass[];
    compileMs: number;
    buffers: GPUBuffer[];
    extraFlops: number;
  }>;
}

/** Query blocks of `block` rows per head as groups: group = head · blocks + ⌊row / block⌋. */
export function blockRowGroups(shape: AttentionShape, block: number): Uint32Array {
  const queries = queryCount(shape);
  const perHead = Math.ceil(queries / block);
  return Uint32Array.from(
    { length: shape.heads * queries },
    (_, i) => Math.floor(i / queries) * perHead + Math.floor((i % queries) / block),
  );
}

/** What {@link setupKeyMasks} sets up: the shape, the inputs and the method's selection. */
export interface KeyMaskOptions extends MaskSelection {
  shape: AttentionShape;
  inputs: AttentionGpuInputs;
  /**
   * Bitmap words (32 keys each) per key range of the attend pass; default the most one
   * invocation can loop over. Rows longer than one range are attended range by range and merged.
   * Tests set it small to run the merge on small shapes.
   */
  rangeWords?: number;
}

/**
 * Sets up a key-selection method: clear the masks, the method's passes, then attend.
 *
 * @param gpu the device
 * @param options shape, inputs, and the method's groups, window and selection passes
 * @returns the kernel
 */
export async function setupKeyMasks(
  gpu: GpuContext,
  options: KeyMaskOptions,
): Promise<AttentionKernel> {
  const { shape, inputs, rangeWords = maxRangeWords(shape.headDim), ...selection } = options;
  const { device } = gpu;
  const queries = queryCount(shape);
  const layout = maskLayout(shape, selection.groups);
  const rangeCount = Math.ceil(layout.words / rangeWords);
  const split = rangeCount > 1;
  assertIterationBound(
    "masked-attend",
    maskedAttendIterations(shape.headDim, Math.min(rangeWords, layout.words)),
  );
  if (split) assertIterationBound("masked-merge", maskedMergeIterations(shape.headDim, rangeCount));
  const partialBytes = shape.heads * queries * rangeCount * (shape.headDim / 4 + 1) * 16;
  if (split && partialBytes > device.limits.maxStorageBufferBindingSize) {
    throw new RangeError(
      `Cannot split the key-mask attend into ${rangeCount} key ranges as its partials need ${partialBytes} bytes, past this adapter's storage binding limit of ${device.limits.maxStorageBufferBindingSize}`,
    );
  }
  const uniforms = device.createBuffer({
    size: 32,
    usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
  });
  const view = new DataView(new ArrayBuffer(32));
  [shape.seq, shape.heads, shape.causal ? 1 : 0, queries, layout.words, layout.groups].forEach(
    (x, i) => view.setUint32(i * 4, x, true),
  );
  view.setUint32(24, selection.window, true);
  view.setFloat32(28, 1 / Math.sqrt(shape.headDim), true);
  device.queue.writeBuffer(uniforms, 0, view.buffer);
  const masks = createStorage(device, layout.totalWords * 4, "key-masks");
  const rowGroup = selection.rowGroups
    ? uploadStorage(device, selection.rowGroups, "row-group")
    : createStorage(device, shape.heads * queries * 4, "row-group");
  const { output, visited } = createAttentionOutputs(device, shape);
  const bind = (pipeline: GPUComputePipeline, buffers: GPUBuffer[]) =>
    bindInOrder(device, pipeline, buffers);
  let topk: Promise<{ pipeline: GPUComputePipeline; compileMs: number }> | null = null;
  const context: MaskContext = {
    gpu,
    uniforms,
    masks,
    rowGroup,
    layout,
    bind,
    async topkPass(spec) {
      assertIterationBound("topk-to-mask", topkIterations(spec.len));
      const compiled = await (topk ??= compilePipeline(device, topkToMaskWgsl(), "topk-to-mask"));
      const state = createStorage(device, spec.segments * 16, "topk-state");
      const buffers = [state];
      const passes: Pass[] = [];
      for (let stage = 0; stage < TOPK_STAGES; stage++) {
        const select = device.createBuffer({
          size: 32,
          usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
        });
        device.queue.writeBuffer(
          select,
          0,
          Uint32Array.from([spec.segments, spec.len, spec.stride, spec.section, stage, 0, 0, 0]),
        );
        buffers.push(select);
        const group = bind(compiled.pipeline, [
          spec.scores,
          spec.keeps,
          masks,
          state,
          uniforms,
          select,
        ]);
        passes.push([compiled.pipeline, group, [Math.ceil(spec.segments / MASKS_WORKGROUP), 1, 1]]);
      }
      // Compiled once per kernel; later calls share it.
      return { passes, compileMs: compiled.compileMs, buffers };
    },
  };
  const ranges = device.createBuffer({
    size: 16,
    usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
  });
  device.queue.writeBuffer(ranges, 0, Uint32Array.of(rangeWords, rangeCount, 0, 0));
  const partials = split ? createStorage(device, partialBytes, "key-mask-partials") : null;
  const [method, attend, merge] = await Promise.all([
    selection.build(context),
    compilePipeline(device, maskedAttendWgsl(shape.headDim, { split }), "masked-attend"),
    split ? compilePipeline(device, maskedMergeWgsl(shape.headDim), "masked-merge") : null,
  ]);
  const rowBuffers = [inputs.q, inputs.k, inputs.v, rowGroup, masks];
  const overRows = Math.ceil(queries / MASKS_WORKGROUP);
  const passes: Pass[] = [...method.passes];
  if (partials && merge) {
    passes.push(
      [
        attend.pipeline,
        bind(attend.pipeline, [...rowBuffers, partials, uniforms, ranges]),
        [overRows, shape.heads, rangeCount],
      ],
      [
        merge.pipeline,
        bind(merge.pipeline, [partials, output, visited, uniforms, ranges]),
        [overRows, shape.heads, 1],
      ],
    );
  } else {
    passes.push([
      attend.pipeline,
      bind(attend.pipeline, [...rowBuffers, output, visited, uniforms, ranges]),
      [overRows, shape.heads, 1],
    ]);
  }
  return {
    encode(encoder) {
      encoder.clearBuffer(masks);
      encodePasses(encoder, passes);
    },
    output,
    visited,
    compileMs: method.compileMs + attend.compileMs + (merge?.compileMs ?? 0),
    extraFlops: method.extraFlops,
    maskChoice: { masks, rowGroup, groups: layout.groups, window: selection.window },
    dispose() {
      for (const b of [uniforms, ranges, masks, rowGroup, output, visited, ...method.buffers]) {
        b.destroy();
      }
      partials?.destroy();
    },
  };
}
