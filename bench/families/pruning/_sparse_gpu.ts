// A pruned Linear layer on WebGPU in the format that realizes its sparsity (dense, CSR or N:M),
// recorded into a model's command encoder, with the plain CPU reference of each product.
//
// Activations on the device are batch-packed: F features at batch B are [F × ⌈B/4⌉] vec4, lane
// r % 4 of vec4 f·⌈B/4⌉ + ⌊r/4⌋ holding row r's feature f (batch 1 is one vec4 per feature, lane
// 0 used). Every format reads and writes that layout, so layers chain on the device with no
// transposition; lanes past the last row are written as zeros.
import { compileCompute, createStorage, readBack, uploadStorage } from "../../gpu/buffers.ts";
import { bindInOrder } from "../../gpu/passes.ts";
import {
  CSR_BATCHED_WGSL,
  csrSingleWgsl,
  DENSE_BATCHED_WGSL,
  denseSingleWgsl,
  nmBatchedWgsl,
  nmSingleWgsl,
  WORKGROUP,
} from "./_sparse_gpu_wgsl.ts";

/** A Linear layer's weights as the engine keeps them: W [rows × cols] row-major and its mask. */
export interface LinearWeights {
  /** W, [rows × cols] row-major (rows = output features). */
  weight: Float32Array;
  /** 1 keeps a weight, 0 prunes it (any non-zero keeps); null keeps all. */
  mask?: ArrayLike<number> | null;
  rows: number;
  cols: number;
  /** [rows], or null for none. */
  bias?: Float32Array | null;
}

/** What the product does after the weights: ReLU, fused into the same pass. */
export interface LinearEpilogue {
  /** max(0, ·) after the bias (default false). */
  relu?: boolean;
}

/** A layer in CSR: the kept weights of each row in column order (pruned ones are never stored). */
export interface LinearCsr {
  rows: number;
  cols: number;
  /** [rows + 1]: row r's entries are rowPtr[r] … rowPtr[r+1]. */
  rowPtr: Uint32Array;
  /** [nonzeros] column of each entry. */
  colIdx: Uint32Array;
  /** [nonzeros] weight of each entry. */
  values: Float32Array;
  bias: Float32Array | null;
}

/**
 * A layer in N:M form: inputs in groups of M consecutive columns (the last group shorter when
 * M does not divide cols), each group keeping at most N weights in N slots, unused slots zero.
 */
export interface LinearNm {
  rows: number;
  cols: number;
  n: number;
  m: number;
  /** Slots per row: ⌈cols/M⌉·N. */
  slots: number;
  /** [rows × slots]: slot s of a row is a kept weight of group ⌊s/N⌋, in column order. */
  values: Float32Array;
  /** [rows × slots]: the slot's position within its group (0 for an unused slot). */
  indices: Uint8Array;
  bias: Float32Array | null;
}

/** The device formats a layer can be uploaded in. */
export type GpuLinearFormat = "dense" | "csr" | "n:m";

/** A Linear layer uploaded to the device in one format. */
export interface GpuLinear {
  readonly format: GpuLinearFormat;
  /** Output features. */
  readonly rows: number;
  /** Input features. */
  readonly cols: number;
  /** Weights stored (dense: rows·cols; CSR: kept weights; N:M: rows·slots, zero slots included). */
  readonly storedWeights: number;
  /** Device bytes of the weight values and their indices (bias excluded), padding included. */
  readonly weightBytes: number;
  /** Time the kernels took to compile the first time this device saw their source. */
  readonly compileMs: number;
  /**
   * Records y = x·Wᵀ + b (ReLU if asked) into `encoder`, one compute pass: `input` holds `batch`
   * rows of `cols` features and `output` receives `rows` features, both batch-packed. The bind
   * group of each (input, output, batch) is made once and kept until `dispose()`.
   *
   * @throws {RangeError} for a buffer too small for the batch, or the same buffer twice
   */
  encode(encoder: GPUCommandEncoder, input: GPUBuffer, output: GPUBuffer, batch: number): void;
  /**
   * Test helper: uploads x [batch × cols] row-major, runs the product alone and returns y
   * [batch × rows] row-major.
   */
  multiply(x: Float32Array, batch: number): Promise<Float32Array>;
  dispose(): void;
}

// ——— The activation layout ———

/** Vec4s per feature at `batch` rows: ⌈batch/4⌉. */
function quads(batch: number): number {
  return Math.ceil(batch / 4);
}

function checkBatch(batch: number): void {
  if (!Number.isInteger(batch) || batch < 1) {
    throw new RangeError(`Cannot use batch ${batch} as a batch must be a positive integer`);
  }
}

/**
 * Device bytes of `features` activations at `batch` rows in the batch-packed layout.
 *
 * @example
 * ```ts
 * import { activationBytes } from "./mod.ts";
 * activationBytes(784, 3); // 12544: one vec4 per feature
 * ```
 */
export function activationBytes(features: number, batch: number): number {
  return features * quads(batch) * 16;
}

/**
 * Packs row-major x [batch × features] into the batch-packed layout (padded lanes zero).
 *
 * @param x the rows
 * @param shape `features` per row and `batch` rows
 * @returns [features × ⌈batch/4⌉·4] float32
 * @throws {RangeError} when x is not batch·features long
 */
export function packActivations(
  x: Float32Array,
  shape: { features: number; batch: number },
): Float32Array {
  const { features, batch } = shape;
  checkBatch(batch);
  if (x.length !== features * batch) {
    throw new RangeError(
      `Cannot pack activations as x must hold ${batch}×${features} = ${
        features * batch
      } values: got ${x.length}`,
    );
  }
  const stride = quads(batch) * 4;
  const packed = new Float32Array(features * stride);
  for (let r = 0; r < batch; r++) {
    for (let f = 0; f < features; f++) packed[f * stride + r] = x[r * features + f];
  }
  return packed;
}

/**
 * Unpacks batch-packed activations back to row-major [batch × features].
 *
 * @param packed at least features·⌈batch/4⌉·4 values
 * @param shape `features` per row and `batch` rows
 * @returns the rows
 */
export function unpackActivations(
  packed: Float32Array,
  shape: { features: number; batch: number },
): Float32Array {
  const { features, batch } = shape;
  const stride = quads(batch) * 4;
  const x = new Float32Array(features * batch);
  for (let r = 0; r < batch; r++) {
    for (let f = 0; f < features; f++) x[r * features + f] = packed[f * stride + r];
  }
  return x;
}

/** Creates a zeroed activation buffer for `features` at `batch` rows. */
export function createActivations(
  device: GPUDevice,
  shape: { features: number; batch: number },
  label?: string,
): GPUBuffer {
  checkBatch(shape.batch);
  return createStorage(device, activationBytes(shape.features, shape.batch), label);
}

/** Uploads row-major x [batch × features] as batch-packed activations. */
export function uploadActivations(
  device: GPUDevice,
  x: Float32Array,
  shape: { features: number; batch: number },
): GPUBuffer {
  return uploadStorage(device, packActivations(x, shape), "activations");
}

/** Reads batch-packed activations back as row-major [batch × features]. */
export async function readActivations(
  device: GPUDevice,
  buffer: GPUBuffer,
  shape: { features: number; batch: number },
): Promise<Float32Array> {
  const bytes = activationBytes(shape.features, shape.batch);
  return unpackActivations(new Float32Array(await readBack(device, buffer, bytes)), shape);
}

// ——— Host-side formats and their CPU references ———

function checkWeights(weights: LinearWeights): void {
  const { weight, mask, rows, cols, bias } = weights;
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 1 || cols < 1) {
    throw new RangeError(
      `Cannot use a ${rows}×${cols} layer as rows and cols must be positive integers`,
    );
  }
  if (weight.length !== rows * cols) {
    throw new RangeError(
      `Cannot use the weights as a ${rows}×${cols} layer needs ${
        rows * cols
      } of them: got ${weight.length}`,
    );
  }
  if (mask && mask.length !== rows * cols) {
    throw new RangeError(
      `Cannot use the mask as a ${rows}×${cols} layer needs ${
        rows * cols
      } entries: got ${mask.length}`,
    );
  }
  if (bias && bias.length !== rows) {
    throw new RangeError(
      `Cannot use the bias as a layer of ${rows} outputs needs ${rows} of them: got ${bias.length}`,
    );
  }
}

function kept(weights: LinearWeights, i: number): boolean {
  return !weights.mask || weights.mask[i] !== 0;
}

/**
 * The kept weights of a layer in CSR.
 *
 * @param weights W, mask and shape
 * @returns the CSR form
 * @throws {RangeError} for inconsistent shapes
 * @example
 * ```ts
 * import { linearToCsr } from "./mod.ts";
 * const csr = linearToCsr({ weight: new Float32Array([1, 2, 3, 4]), mask: [1, 0, 0, 1], rows: 2, cols: 2 });
 * csr.colIdx; // Uint32Array [0, 1]
 * ```
 */
export function linearToCsr(weights: LinearWeights): LinearCsr {
  checkWeights(weights);
  const { weight, rows, cols } = weights;
  const rowPtr = new Uint32Array(rows + 1);
  for (let r = 0; r < rows; r++) {
    let count = 0;
    for (let c = 0; c < cols; c++) if (kept(weights, r * cols + c)) count++;
    rowPtr[r + 1] = rowPtr[r] + count;
  }
  const colIdx = new Uint32Array(rowPtr[rows]);
  const values = new Float32Array(rowPtr[rows]);
  let p = 0;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      if (!kept(weights, r * cols + c)) continue;
      colIdx[p] = c;
      values[p++] = weight[r * cols + c];
    }
  }
  return { rows, cols, rowPtr, colIdx, values, bias: weights.bias ?? null };
}

function checkNm(n: number, m: number): void {
  if (!Number.isInteger(n) || !Number.isInteger(m) || n < 1 || n > m || m > 256) {
    throw new RangeError(
      `Cannot use ${n}:${m} as N:M needs integers 1 ≤ N ≤ M ≤ 256: got N = ${n}, M = ${m}`,
    );
  }
}

/**
 * A layer in N:M form.
 *
 * @param weights W, mask and shape
 * @param pattern N kept of every M consecutive inputs
 * @returns the N:M form
 * @throws {RangeError} when a group of the mask keeps more than N, or for a bad N or M
 * @example
 * ```ts
 * import { linearToNm } from "./mod.ts";
 * const nm = linearToNm(
 *   { weight: new Float32Array([1, 2, 3, 4]), mask: [0, 1, 1, 0], rows: 1, cols: 4 },
 *   { n: 2, m: 4 },
 * );
 * nm.values; // Float32Array [2, 3]
 * nm.indices; // Uint8Array [1, 2]
 * ```
 */
export function linearToNm(weights: LinearWeights, pattern: { n: number; m: number }): LinearNm {
  checkWeights(weights);
  const { n, m } = pattern;
  checkNm(n, m);
  const { weight, rows, cols } = weights;
  const groups = Math.ceil(cols / m);
  const slots = groups * n;
  const values = new Float32Array(rows * slots);
  const indices = new Uint8Array(rows * slots);
  for (let r = 0; r < rows; r++) {
    for (let g = 0; g < groups; g++) {
      let s = r * slots + g * n, used = 0;
      for (let c = g * m; c < Math.min(cols, g * m + m); c++) {
        if (!kept(weights, r * cols + c)) continue;
        if (++used > n) {
          throw new RangeError(
            `Cannot store the mask as ${n}:${m} as each group of ${m} inputs must keep at most ${n}: row ${r}, inputs ${
              g * m
            }…${Math.min(cols, g * m + m) - 1} keep more`,
          );
        }
        values[s] = weight[r * cols + c];
        indices[s++] = c - g * m;
      }
    }
  }
  return { rows, cols, n, m, slots, values, indices, bias: weights.bias ?? null };
}

/**
 * The plain product y = x·(W⊙mask)ᵀ + b of a layer, row by row and weight by weight.
 *
 * @param weights W, mask, bias and shape
 * @param x [batch × cols] row-major
 * @param options `batch` rows; `relu`
 * @returns y, [batch × rows] row-major
 */
export function denseLinearReference(
  weights: LinearWeights,
  x: Float32Array,
  options: { batch: number } & LinearEpilogue,
): Float32Array {
  checkWeights(weights);
  const { weight, rows, cols } = weights;
  const y = new Float32Array(options.batch * rows);
  for (let b = 0; b < options.batch; b++) {
    for (let j = 0; j < rows; j++) {
      let s = weights.bias ? weights.bias[j] : 0;
      for (let k = 0; k < cols; k++) {
        if (kept(weights, j * cols + k)) s += weight[j * cols + k] * x[b * cols + k];
      }
      y[b * rows + j] = options.relu && s < 0 ? 0 : s;
    }
  }
  return y;
}

/**
 * The plain product of a CSR layer: each output walks its row's entries.
 *
 * @param csr the layer
 * @param x [batch × cols] row-major
 * @param options `batch` rows; `relu`
 * @returns y, [batch × rows] row-major
 */
export function csrLinearReference(
  csr: LinearCsr,
  x: Float32Array,
  options: { batch: number } & LinearEpilogue,
): Float32Array {
  const { rows, cols, rowPtr, colIdx, values } = csr;
  const y = new Float32Array(options.batch * rows);
  for (let b = 0; b < options.batch; b++) {
    for (let j = 0; j < rows; j++) {
      let s = csr.bias ? csr.bias[j] : 0;
      for (let p = rowPtr[j]; p < rowPtr[j + 1]; p++) s += values[p] * x[b * cols + colIdx[p]];
      y[b * rows + j] = options.relu && s < 0 ? 0 : s;
    }
  }
  return y;
}

/**
 * The plain product of an N:M layer: each output walks its row's slots.
 *
 * @param nm the layer
 * @param x [batch × cols] row-major
 * @param options `batch` rows; `relu`
 * @returns y, [batch × rows] row-major
 */
export function nmLinearReference(
  nm: LinearNm,
  x: Float32Array,
  options: { batch: number } & LinearEpilogue,
): Float32Array {
  const { rows, cols, n, m, slots, values, indices } = nm;
  const y = new Float32Array(options.batch * rows);
  for (let b = 0; b < options.batch; b++) {
    for (let j = 0; j < rows; j++) {
      let s = nm.bias ? nm.bias[j] : 0;
      for (let t = 0; t < slots; t++) {
        const k = Math.floor(t / n) * m + indices[j * slots + t];
        s += values[j * slots + t] * x[b * cols + k];
      }
      y[b * rows + j] = options.relu && s < 0 ? 0 : s;
    }
  }
  return y;
}

// ——— Device side ———

interface Compiled {
  pipeline: GPUComputePipeline;
  compileMs: number;
}

// Pipelines hold no layer state, so every layer of a device with the same kernel shares one.
const pipelines = new WeakMap<GPUDevice, Map<string, Promise<Compiled>>>();

function compileShared(device: GPUDevice, code: string, label: string): Promise<Compiled> {
  let cache = pipelines.get(device);
  if (!cache) pipelines.set(device, cache = new Map());
  let compiled = cache.get(code);
  if (!compiled) {
    compiled = compileCompute(device, code, label);
    cache.set(code, compiled);
    compiled.catch(() => cache.delete(code));
  }
  return compiled;
}

/** Invocations per row for batch-1 kernels: a power of two near a row's work / 8, 4 to 64. */
function lanesFor(workPerRow: number): number {
  let lanes = 4;
  while (lanes < WORKGROUP && lanes * 8 < workPerRow) lanes *= 2;
  return lanes;
}

/** Splits a workgroup count over x and y when it passes the 65,535 a dimension allows. */
function grid(groups: number): [number, number, number] {
  const x = Math.max(1, Math.min(groups, 65535));
  return [x, Math.ceil(groups / x), 1];
}

/** How one format's kernels are laid out: everything `encode` needs beyond the buffers. */
interface Kernels {
  format: GpuLinearFormat;
  rows: number;
  cols: number;
  storedWeights: number;
  relu: boolean;
  bias: Float32Array | null;
  /** Weight buffers, bound after the bias. */
  buffers: GPUBuffer[];
  batched: { code: string; label: string; groups(batch: number): number };
  single: { code: string; label: string; groups: number };
  slots?: number;
  words?: number;
}

async function createGpuLinear(device: GPUDevice, kernels: Kernels): Promise<GpuLinear> {
  const [batched, single] = await Promise.all([
    compileShared(device, kernels.batched.code, kernels.batched.label),
    compileShared(device, kernels.single.code, kernels.single.label),
  ]);
  const { rows, cols } = kernels;
  const biasBuffer = uploadStorage(device, kernels.bias ?? new Float32Array(rows), "bias");
  const uniforms = new Map<number, GPUBuffer>();
  const groups = new Map<number, Map<GPUBuffer, Map<GPUBuffer, GPUBindGroup>>>();
  let disposed = false;

  const uniformFor = (batch: number) => {
    let uniform = uniforms.get(batch);
    if (!uniform) {
      uniform = device.createBuffer({
        size: 32,
        usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
        label: `dims-b${batch}`,
      });
      device.queue.writeBuffer(
        uniform,
        0,
        new Uint32Array([
          rows,
          cols,
          quads(batch),
          batch,
          kernels.relu ? 1 : 0,
          kernels.slots ?? 0,
          kernels.words ?? 0,
          0,
        ]),
      );
      uniforms.set(batch, uniform);
    }
    return uniform;
  };

  const groupFor = (input: GPUBuffer, output: GPUBuffer, batch: number) => {
    let byInput = groups.get(batch);
    if (!byInput) groups.set(batch, byInput = new Map());
    let byOutput = byInput.get(input);
    if (!byOutput) byInput.set(input, byOutput = new Map());
    let group = byOutput.get(output);
    if (!group) {
      const pipeline = (batch === 1 ? single : batched).pipeline;
      group = bindInOrder(device, pipeline, [
        input,
        output,
        uniformFor(batch),
        biasBuffer,
        ...kernels.buffers,
      ]);
      byOutput.set(output, group);
    }
    return group;
  };

  const layer: GpuLinear = {
    format: kernels.format,
    rows,
    cols,
    storedWeights: kernels.storedWeights,
    weightBytes: kernels.buffers.reduce((sum, b) => sum + b.size, 0),
    compileMs: batched.compileMs + single.compileMs,
    encode(encoder, input, output, batch) {
      if (disposed) throw new Error(`Cannot encode a ${kernels.format} layer after dispose()`);
      checkBatch(batch);
      if (input === output) {
        throw new RangeError(
          "Cannot encode the layer in place as its input and output must be different buffers",
        );
      }
      for (
        const [name, buffer, features] of [["input", input, cols], [
          "output",
          output,
          rows,
        ]] as const
      ) {
        const need = activationBytes(features, batch);
        if (buffer.size < need) {
          throw new RangeError(
            `Cannot encode the layer as its ${name} must hold ${features} features at batch ${batch} (${need} bytes): got ${buffer.size}`,
          );
        }
      }
      const pass = encoder.beginComputePass();
      pass.setPipeline((batch === 1 ? single : batched).pipeline);
      pass.setBindGroup(0, groupFor(input, output, batch));
      pass.dispatchWorkgroups(
        ...grid(batch === 1 ? kernels.single.groups : kernels.batched.groups(batch)),
      );
      pass.end();
    },
    async multiply(x, batch) {
      const input = uploadActivations(device, x, { features: cols, batch });
      const output = createActivations(device, { features: rows, batch });
      try {
        const encoder = device.createCommandEncoder();
        layer.encode(encoder, input, output, batch);
        device.queue.submit([encoder.finish()]);
        return await readActivations(device, output, { features: rows, batch });
      } finally {
        // Bind groups naming these buffers are dropped with them.
        for (const byInput of groups.values()) {
          byInput.delete(input);
          for (const byOutput of byInput.values()) byOutput.delete(output);
        }
        input.destroy();
        output.destroy();
      }
    },
    dispose() {
      disposed = true;
      for (const b of [...kernels.buffers, biasBuffer, ...uniforms.values()]) b.destroy();
      uniforms.clear();
      groups.clear();
    },
  };
  return layer;
}

/**
 * Uploads a layer as a dense matrix: W⊙mask, padded to a multiple of 4 output rows and stored
 * as [⌈rows/4⌉ × cols] vec4 (four rows' weights of one input per vec4). The baseline of a
 * pruned layer, and the kernel for a structurally shrunk one (pass the smaller W and no mask).
 * Any rows and cols. Batch 1 splits each block of four rows over 4 to 64 invocations (a
 * workgroup of 64); larger batches give an invocation four rows × four batch rows.
 *
 * @param device the device
 * @param weights W, mask, bias and shape
 * @param options `relu` after the bias
 * @returns the uploaded layer
 * @throws {RangeError} for inconsistent shapes
 * @example
 * ```ts ignore
 * import { uploadDenseLinear } from "./mod.ts";
 * const layer = await uploadDenseLinear(device, { weight, mask, rows: 300, cols: 784, bias }, { relu: true });
 * layer.encode(encoder, x, hidden, 16);
 * ```
 */
export function uploadDenseLinear(
  device: GPUDevice,
  weights: LinearWeights,
  options: LinearEpilogue = {},
): Promise<GpuLinear> {
  checkWeights(weights);
  const { weight, rows, cols } = weights;
  const blocks = Math.ceil(rows / 4);
  const packed = new Float32Array(blocks * cols * 4);
  for (let j = 0; j < rows; j++) {
    const block = j >> 2, lane = j & 3;
    for (let k = 0; k < cols; k++) {
      if (kept(weights, j * cols + k)) packed[(block * cols + k) * 4 + lane] = weight[j * cols + k];
    }
  }
  const lanes = lanesFor(cols);
  return createGpuLinear(device, {
    format: "dense",
    rows,
    cols,
    storedWeights: rows * cols,
    relu: options.relu ?? false,
    bias: weights.bias ?? null,
    buffers: [uploadStorage(device, packed, "dense-weights")],
    batched: {
      code: DENSE_BATCHED_WGSL,
      label: "linear-dense",
      groups: (batch) => Math.ceil((blocks * quads(batch)) / WORKGROUP),
    },
    single: {
      code: denseSingleWgsl(lanes),
      label: `linear-dense-b1-l${lanes}`,
      groups: Math.ceil(blocks / (WORKGROUP / lanes)),
    },
  });
}

/**
 * Uploads a layer's kept weights in CSR: (column, value) pairs as two u32 per entry in row
 * order, and [rows + 1] u32 row starts. Batch 1 splits each row's entries over 4 to 64
 * invocations; larger batches give an invocation one row × four batch rows, gathering x with
 * one vec4 load per entry.
 *
 * @param device the device
 * @param weights W, mask (the kept weights are stored, zero or not), bias and shape
 * @param options `relu` after the bias
 * @returns the uploaded layer
 * @throws {RangeError} for inconsistent shapes
 * @example
 * ```ts ignore
 * import { uploadCsrLinear } from "./mod.ts";
 * const layer = await uploadCsrLinear(device, { weight, mask, rows: 300, cols: 784, bias });
 * layer.encode(encoder, x, hidden, 1);
 * ```
 */
export function uploadCsrLinear(
  device: GPUDevice,
  weights: LinearWeights,
  options: LinearEpilogue = {},
): Promise<GpuLinear> {
  const csr = linearToCsr(weights);
  const { rows, cols } = csr;
  const nonzeros = csr.values.length;
  const entries = new Uint32Array(Math.max(2, nonzeros * 2));
  const valueBits = new Uint32Array(csr.values.buffer, csr.values.byteOffset, nonzeros);
  for (let p = 0; p < nonzeros; p++) {
    entries[2 * p] = csr.colIdx[p];
    entries[2 * p + 1] = valueBits[p];
  }
  const lanes = lanesFor(nonzeros / rows);
  return createGpuLinear(device, {
    format: "csr",
    rows,
    cols,
    storedWeights: nonzeros,
    relu: options.relu ?? false,
    bias: csr.bias,
    buffers: [
      uploadStorage(device, entries, "csr-entries"),
      uploadStorage(device, csr.rowPtr, "csr-row-ptr"),
    ],
    batched: {
      code: CSR_BATCHED_WGSL,
      label: "linear-csr",
      groups: (batch) => Math.ceil((rows * quads(batch)) / WORKGROUP),
    },
    single: {
      code: csrSingleWgsl(lanes),
      label: `linear-csr-b1-l${lanes}`,
      groups: Math.ceil(rows / (WORKGROUP / lanes)),
    },
  });
}

/**
 * Uploads a layer in N:M form: values [rows × ⌈cols/M⌉·N] f32 and in-group positions packed
 * ⌈log2 M⌉ bits each (⌊32/bits⌋ to a u32, rows padded to whole words). Any cols: a shorter last
 * group keeps at most N. Batch 1 splits each row's index words over 4 to 64 invocations; larger
 * batches give an invocation one row × four batch rows.
 *
 * @param device the device
 * @param weights W, mask, bias and shape
 * @param options `n` kept of every `m` consecutive inputs; `relu` after the bias
 * @returns the uploaded layer
 * @throws {RangeError} when the mask keeps more than N of some group, or for a bad N or M
 * @example
 * ```ts ignore
 * import { uploadNmLinear } from "./mod.ts";
 * const layer = await uploadNmLinear(device, { weight, mask, rows: 300, cols: 784 }, { n: 2, m: 4 });
 * layer.encode(encoder, x, hidden, 16);
 * ```
 */
export function uploadNmLinear(
  device: GPUDevice,
  weights: LinearWeights,
  options: { n: number; m: number } & LinearEpilogue,
): Promise<GpuLinear> {
  const nm = linearToNm(weights, options);
  const { rows, cols, n, m, slots } = nm;
  const bits = Math.max(1, Math.ceil(Math.log2(m)));
  const perWord = Math.floor(32 / bits);
  const words = Math.ceil(slots / perWord);
  const packed = new Uint32Array(rows * words);
  for (let j = 0; j < rows; j++) {
    for (let s = 0; s < slots; s++) {
      const word = j * words + Math.floor(s / perWord);
      packed[word] = (packed[word] | (nm.indices[j * slots + s] << ((s % perWord) * bits))) >>> 0;
    }
  }
  const lanes = lanesFor(words);
  return createGpuLinear(device, {
    format: "n:m",
    rows,
    cols,
    storedWeights: rows * slots,
    relu: options.relu ?? false,
    bias: nm.bias,
    buffers: [
      uploadStorage(device, nm.values, "nm-values"),
      uploadStorage(device, packed, "nm-indices"),
    ],
    batched: {
      code: nmBatchedWgsl(n, m, bits),
      label: `linear-nm-${n}-${m}`,
      groups: (batch) => Math.ceil((rows * quads(batch)) / WORKGROUP),
    },
    single: {
      code: nmSingleWgsl(n, m, bits, lanes),
      label: `linear-nm-${n}-${m}-b1-l${lanes}`,
      groups: Math.ceil(rows / (WORKGROUP / lanes)),
    },
    slots,
    words,
  });
}
