// The one path from a method to its results on the GPU, for the tasks and the tests alike:
// upload the inputs, set the method up, run one computation, read its output and visited counts.
import { readBack, uploadStorage } from "../../gpu/buffers.ts";
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

/** Reads a kernel's output and visited counts back (waiting for queued work). */
export async function readResults(
  gpu: GpuContext,
  kernel: AttentionKernel,
  shape: AttentionShape,
): Promise<AttentionResult> {
  const rows = shape.heads * queryCount(shape);
  const out = new Float32Array(await readBack(gpu.device, kernel.output, rows * shape.headDim * 4));
  const visited = new Uint32Array(await readBack(gpu.device, kernel.visited, rows * 4));
  return { out, visited };
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
