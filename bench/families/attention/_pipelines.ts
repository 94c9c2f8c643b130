// Compute pipelines for attention kernels, compiled through one function so that a run whose
// compile times are not for comparing (smoke) can compile each shader once per device and reuse
// it across cases, instead of compiling every method's kernels again for every case.
import { compileCompute } from "../../gpu/buffers.ts";

interface Compiled {
  pipeline: GPUComputePipeline;
  compileMs: number;
}

const shared = new WeakMap<GPUDevice, Map<string, Promise<Compiled>>>();

/**
 * Turns pipeline sharing on or off for `device`: while on, {@link compilePipeline} compiles each
 * distinct WGSL source once and hands the same pipeline to every later kernel.
 *
 * @param device the run's device
 * @param on whether to share (off drops what was shared)
 */
export function sharePipelines(device: GPUDevice, on: boolean): void {
  if (!on) shared.delete(device);
  else if (!shared.has(device)) shared.set(device, new Map());
}

/**
 * Compiles a compute pipeline (see `compileCompute`), or, where pipelines are shared on this
 * device, reuses the one compiled from the same source; `compileMs` is then the time that first
 * compilation took, so it still says what the kernel costs to compile.
 *
 * @throws {Error} naming the pipeline and the compiler's complaint
 */
export function compilePipeline(device: GPUDevice, code: string, label: string): Promise<Compiled> {
  const cache = shared.get(device);
  if (!cache) return compileCompute(device, code, label);
  let compiled = cache.get(code);
  if (!compiled) {
    compiled = compileCompute(device, code, label);
    cache.set(code, compiled);
    // A failed compile is not kept: the next kernel tries again and reports its own error.
    compiled.catch(() => cache.delete(code));
  }
  return compiled;
}
