// The one path from a method to its results on the GPU, for the tasks and the tests alike:
// upload the inputs, set the method up, run one computation, read its output and visited counts.
import { uploadStorage } from "../../gpu/buffers.ts";
import type { GpuContext } from "../../gpu/device.ts";
import type { ParamValues } from "../../metadata.ts";
import {
  type AttentionGpuInputs,
  type AttentionInputs,
  type AttentionKernel,
  type AttentionMethod,
  type AttentionProblem,
  type AttentionShape,
  queryCount,
} from "./_interface.ts";

/** What one computation left: the output (heads × queries × headDim) and keys visited per row. */
export interface AttentionResult {
  out: Float32Array;
  visited: Uint32Array;
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

/**
 * Reads a kernel's output and visited counts back (after queued work), both copies in one
 * submission: each submission costs a fixed round trip on the software adapter.
 */
export async function readResults(
  gpu: GpuContext,
  kernel: AttentionKernel,
  shape: AttentionShape,
): Promise<AttentionResult> {
  const { device } = gpu;
  const rows = shape.heads * queryCount(shape);
  const bytes = [rows * shape.headDim * 4, rows * 4];
  const staging = bytes.map((n) =>
    device.createBuffer({ size: n, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST })
  );
  const encoder = device.createCommandEncoder();
  encoder.copyBufferToBuffer(kernel.output, 0, staging[0], 0, bytes[0]);
  encoder.copyBufferToBuffer(kernel.visited, 0, staging[1], 0, bytes[1]);
  device.queue.submit([encoder.finish()]);
  try {
    await Promise.all(staging.map((b) => b.mapAsync(GPUMapMode.READ)));
    return {
      out: new Float32Array(staging[0].getMappedRange().slice(0)),
      visited: new Uint32Array(staging[1].getMappedRange().slice(0)),
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
