// The one path from a method to its results on the GPU, for the tasks and the tests alike:
// upload the inputs, set the method up, run one computation, read its output and visited counts.
import { uploadStorage } from "../../gpu/buffers.ts";
import type { GpuContext } from "../../gpu/device.ts";
import type { ParamValues } from "../../metadata.ts";
import { maskLayout } from "./_key_masks.ts";
import type { QueryBlockedChoice } from "./_block_sparse.ts";
import {
  type AttentionGpuInputs,
  type AttentionInputs,
  type AttentionKernel,
  type AttentionMethod,
  type AttentionProblem,
  type AttentionShape,
  queryCount,
  queryOffset,
} from "./_interface.ts";

/** What one computation left: the output (heads × queries × headDim) and keys visited per row. */
export interface AttentionResult {
  out: Float32Array;
  visited: Uint32Array;
  /**
   * The keys row `row` of head `head` attended as the kernel chose them (ascending), where the
   * kernel leaves its choice readable (`AttentionKernel.blockChoice`, `maskChoice`,
   * `keyChoice` or `bandChoice`).
   */
  selection?: (head: number, row: number) => Int32Array;
}

/** The bits set in `words[from .. from + count)`, as bit indices. */
function bitsOf(words: Uint32Array, from: number, count: number): number[] {
  const bits: number[] = [];
  for (let w = 0; w < count; w++) {
    for (let t = 0; t < 32; t++) if ((words[from + w] >>> t) & 1) bits.push(w * 32 + t);
  }
  return bits;
}

/** The keys of row `row` given the read-back bitmaps of a key-mask kernel (as selectedKeys). */
function maskChoiceKeys(
  shape: AttentionShape,
  choice: { masks: Uint32Array; rowGroup: Uint32Array; groups: number; window: number },
): (head: number, row: number) => Int32Array {
  const { masks, rowGroup, groups, window } = choice;
  const layout = maskLayout(shape, groups);
  const queries = queryCount(shape);
  return (head, row) => {
    const pos = queryOffset(shape) + row;
    const last = shape.causal ? pos : shape.seq - 1;
    const chosen = new Uint8Array(last + 1);
    const mark = (j: number) => {
      if (j >= 0 && j <= last) chosen[j] = 1;
    };
    const group = rowGroup[head * queries + row];
    for (const j of bitsOf(masks, layout.headAt(head), layout.words)) mark(j);
    for (const j of bitsOf(masks, layout.groupAt(group), layout.words)) mark(j);
    for (const o of bitsOf(masks, layout.diagAt(head), layout.words)) mark(pos - o);
    for (let o = 0; o < window; o++) mark(pos - o);
    const keys: number[] = [];
    chosen.forEach((c, j) => c && keys.push(j));
    return Int32Array.from(keys);
  };
}

/** The keys of row `row` given the read-back block lists of `choice` (as keysOfBlocks gives). */
function blockChoiceKeys(
  shape: AttentionShape,
  choice: {
    block: number;
    queryBlock: number;
    stride: number;
    chosen: Uint32Array;
    counts: Uint32Array;
  },
): (head: number, row: number) => Int32Array {
  const { block, queryBlock, stride, chosen, counts } = choice;
  const queryBlocks = Math.ceil(queryCount(shape) / queryBlock);
  return (head, row) => {
    const slot = head * queryBlocks + Math.floor(row / queryBlock);
    const blocks = chosen.slice(slot * stride, slot * stride + counts[slot]).sort();
    const pos = queryOffset(shape) + row;
    const keys: number[] = [];
    for (const kb of blocks) {
      const last = Math.min((kb + 1) * block, shape.seq) - 1;
      for (let j = kb * block; j <= (shape.causal ? Math.min(last, pos) : last); j++) keys.push(j);
    }
    return Int32Array.from(keys);
  };
}

/** Uploads q, k and v as storage buffers. */
export function uploadInputs(gpu: GpuContext, inputs: AttentionInputs): AttentionGpuInputs {
  return {
    q: uploadStorage(gpu.device, inputs.q, "q"),
    k: uploadStorage(gpu.device, inputs.k, "k"),
    v: uploadStorage(gpu.device, inputs.v, "v"),
  };
}

/** Destroys uploaded inputs (none when null). */
export function destroyInputs(inputs: AttentionGpuInputs | null): void {
  inputs?.q.destroy();
  inputs?.k.destroy();
  inputs?.v.destroy();
}

/**
 * One computation of a kernel, its results left in its output buffers: the recorded passes, or
 * for a host-driven kernel (a peer library) its own run and finalize.
 */
export async function executeOnce(gpu: GpuContext, kernel: AttentionKernel): Promise<void> {
  if (kernel.run) {
    await kernel.run();
    await kernel.finalize?.();
    return;
  }
  const encoder = gpu.device.createCommandEncoder();
  kernel.encode(encoder);
  gpu.device.queue.submit([encoder.finish()]);
}

/** The keys of row `row` given read-back per-row key bitmaps (`AttentionKernel.keyChoice`). */
function keyChoiceKeys(
  shape: AttentionShape,
  choice: { bitmaps: Uint32Array[]; words: number; rowsPerBitmap: number },
): (head: number, row: number) => Int32Array {
  const { bitmaps, words, rowsPerBitmap } = choice;
  const queries = queryCount(shape);
  return (head, row) => {
    const b = Math.floor(row / rowsPerBitmap);
    const rows = Math.min(rowsPerBitmap, queries - b * rowsPerBitmap);
    const from = (head * rows + row - b * rowsPerBitmap) * words;
    return Int32Array.from(bitsOf(bitmaps[b], from, words).filter((j) => j < shape.seq));
  };
}

/** The keys of row `row` given the read-back bands of a banded kernel (`bandChoice`). */
function bandChoiceKeys(
  shape: AttentionShape,
  bands: Uint32Array,
): (head: number, row: number) => Int32Array {
  const queries = queryCount(shape);
  return (head, row) => {
    const slot = (head * queries + row) * 3;
    const [lo, hi, sinkEnd] = [bands[slot], bands[slot + 1], bands[slot + 2]];
    // As recorded, unclipped: a band out of order or past the keys shows as a wrong selection.
    const keys: number[] = [];
    for (let j = 0; j < sinkEnd; j++) keys.push(j);
    for (let j = lo; j <= hi && keys.length <= shape.seq; j++) keys.push(j);
    return Int32Array.from(keys);
  };
}

/**
 * Reads a kernel's output, visited counts and (where it leaves one) its choice of keys back after
 * queued work, every copy in one submission: each submission costs a fixed round trip on the
 * software adapter.
 */
export async function readResults(
  gpu: GpuContext,
  kernel: AttentionKernel,
  shape: AttentionShape,
): Promise<AttentionResult> {
  const { device } = gpu;
  const rows = shape.heads * queryCount(shape);
  const sources: [GPUBuffer, number][] = [
    [kernel.output, rows * shape.headDim * 4],
    [kernel.visited, rows * 4],
  ];
  // Each readable choice: the buffers to copy and how to decode them once mapped.
  type Decode = (words: Uint32Array[]) => (head: number, row: number) => Int32Array;
  let decode: { from: number; read: Decode } | null = null;
  const choose = (buffers: [GPUBuffer, number][], read: Decode) => {
    decode = { from: sources.length, read };
    sources.push(...buffers);
  };
  const choice = kernel.blockChoice;
  if (choice) {
    // Query rows per listed selection: `block` unless the kernel selects for fewer rows.
    const queryBlock = (choice as Partial<QueryBlockedChoice>).queryBlock ?? choice.block;
    const slots = shape.heads * Math.ceil(queryCount(shape) / queryBlock);
    choose(
      [[choice.chosen, slots * choice.stride * 4], [choice.counts, slots * 4]],
      ([chosen, counts]) =>
        blockChoiceKeys(shape, {
          block: choice.block,
          queryBlock,
          stride: choice.stride,
          chosen,
          counts,
        }),
    );
  }
  const masks = kernel.maskChoice;
  if (masks) {
    choose(
      [[masks.masks, maskLayout(shape, masks.groups).totalWords * 4], [masks.rowGroup, rows * 4]],
      ([words, rowGroup]) =>
        maskChoiceKeys(shape, {
          masks: words,
          rowGroup,
          groups: masks.groups,
          window: masks.window,
        }),
    );
  }
  const keys = kernel.keyChoice;
  if (keys) {
    const queries = queryCount(shape);
    choose(
      keys.bitmaps.map((b, i) => {
        const bitmapRows = Math.min(keys.rowsPerBitmap, queries - i * keys.rowsPerBitmap);
        return [b, shape.heads * bitmapRows * keys.words * 4];
      }),
      (bitmaps) =>
        keyChoiceKeys(shape, { bitmaps, words: keys.words, rowsPerBitmap: keys.rowsPerBitmap }),
    );
  }
  const bands = kernel.bandChoice;
  if (bands) choose([[bands.bands, rows * 3 * 4]], ([b]) => bandChoiceKeys(shape, b));
  const staging = sources.map(([, n]) =>
    device.createBuffer({ size: n, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST })
  );
  const encoder = device.createCommandEncoder();
  sources.forEach(([buffer, n], i) => encoder.copyBufferToBuffer(buffer, 0, staging[i], 0, n));
  device.queue.submit([encoder.finish()]);
  try {
    await Promise.all(staging.map((b) => b.mapAsync(GPUMapMode.READ)));
    const read = (i: number) => staging[i].getMappedRange().slice(0);
    const chosen = decode as { from: number; read: Decode } | null;
    return {
      out: new Float32Array(read(0)),
      visited: new Uint32Array(read(1)),
      ...(chosen
        ? {
          selection: chosen.read(
            sources.slice(chosen.from).map((_, i) => new Uint32Array(read(chosen.from + i))),
          ),
        }
        : {}),
    };
  } finally {
    for (const b of staging) b.destroy();
  }
}

/** Sets a method up on uploaded inputs, runs it once, reads the results and disposes of it. */
export async function computeOnce<V extends Readonly<ParamValues>>(
  gpu: GpuContext,
  method: AttentionMethod<V>,
  problem: AttentionProblem<AttentionGpuInputs, V>,
): Promise<AttentionResult> {
  const kernel = await method.setup(gpu, problem);
  try {
    await executeOnce(gpu, kernel);
    return await readResults(gpu, kernel, problem.shape);
  } finally {
    kernel.dispose();
  }
}

/**
 * One computation of `method` on host inputs: upload, set up, run, read back, release.
 *
 * @param gpu the device
 * @param method the method's implementation
 * @param problem shape, host inputs and parameters
 * @returns its output and visited counts
 * @example
 * ```ts ignore
 * import { runOnGpu } from "./mod.ts";
 * const { out, visited } = await runOnGpu(gpu, denseAttention.impl, { shape, inputs, params: {} });
 * ```
 */
export async function runOnGpu<V extends Readonly<ParamValues>>(
  gpu: GpuContext,
  method: AttentionMethod<V>,
  problem: AttentionProblem<AttentionInputs, V>,
): Promise<AttentionResult> {
  const uploaded = uploadInputs(gpu, problem.inputs);
  try {
    return await computeOnce(gpu, method, { ...problem, inputs: uploaded });
  } finally {
    destroyInputs(uploaded);
  }
}
