// Small helpers for moving float32 data to and from the GPU.

/** Creates a storage buffer holding `data`. */
export function uploadStorage(
  device: GPUDevice,
  data: Float32Array | Uint32Array,
  label?: string,
): GPUBuffer {
  const buffer = device.createBuffer({
    label,
    size: Math.max(16, Math.ceil(data.byteLength / 16) * 16),
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC,
  });
  device.queue.writeBuffer(buffer, 0, data as Float32Array<ArrayBuffer>);
  return buffer;
}

/** Creates an empty storage buffer of `bytes` (rounded up to 16) that can be read back. */
export function createStorage(device: GPUDevice, bytes: number, label?: string): GPUBuffer {
  return device.createBuffer({
    label,
    size: Math.max(16, Math.ceil(bytes / 16) * 16),
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
  });
}

/** Reads `bytes` of `buffer` back to the host, waiting for queued work first. */
export async function readBack(
  device: GPUDevice,
  buffer: GPUBuffer,
  bytes: number,
): Promise<ArrayBuffer> {
  const staging = device.createBuffer({
    size: Math.ceil(bytes / 4) * 4,
    usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
  });
  const encoder = device.createCommandEncoder();
  encoder.copyBufferToBuffer(buffer, 0, staging, 0, staging.size);
  device.queue.submit([encoder.finish()]);
  await staging.mapAsync(GPUMapMode.READ);
  const copy = staging.getMappedRange().slice(0, bytes);
  staging.unmap();
  staging.destroy();
  return copy;
}

/**
 * Creates a compute pipeline, timing its compilation. WGSL errors become a thrown Error carrying
 * the compiler's messages instead of an invalid pipeline.
 *
 * @throws {Error} naming the pipeline and the compiler's complaint
 */
export async function compileCompute(
  device: GPUDevice,
  code: string,
  label: string,
): Promise<{ pipeline: GPUComputePipeline; compileMs: number }> {
  const start = performance.now();
  device.pushErrorScope("validation");
  const module = device.createShaderModule({ code, label });
  const scopeError = await device.popErrorScope();
  if (scopeError) throw new Error(`WGSL '${label}' does not compile: ${scopeError.message}`);
  try {
    const pipeline = await device.createComputePipelineAsync({
      layout: "auto",
      compute: { module, entryPoint: "main" },
      label,
    });
    return { pipeline, compileMs: performance.now() - start };
  } catch (error) {
    throw new Error(`WGSL pipeline '${label}' failed to compile: ${(error as Error).message}`);
  }
}
