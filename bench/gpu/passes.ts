// Compute passes as data: a pipeline, its bind group and its workgroup counts, recorded in order.
// Kernels with several passes (scoring, selecting, attending) build a list once in setup and
// record it on every timed computation.

/** A compute pass: pipeline, bind group (at group 0) and workgroup counts. */
export type Pass = [GPUComputePipeline, GPUBindGroup, [number, number, number]];

/**
 * A bind group of `buffers` at bindings 0, 1, … of the pipeline's group 0, the layout every
 * kernel of this project declares its storage and uniform buffers in.
 *
 * @param device the device the pipeline belongs to
 * @param pipeline a compute pipeline with an "auto" layout
 * @param buffers one buffer per binding, in binding order
 * @returns the bind group
 * @example
 * ```ts ignore
 * import { bindInOrder } from "./passes.ts";
 * const group = bindInOrder(device, pipeline, [q, k, v, output, uniforms]);
 * ```
 */
export function bindInOrder(
  device: GPUDevice,
  pipeline: GPUComputePipeline,
  buffers: GPUBuffer[],
): GPUBindGroup {
  return device.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: buffers.map((buffer, binding) => ({ binding, resource: { buffer } })),
  });
}

/**
 * Records `passes` into `encoder`, one compute pass each, in order (so each pass sees what the
 * one before wrote).
 *
 * @param encoder where to record
 * @param passes the passes, first to last
 * @example
 * ```ts ignore
 * import { encodePasses } from "./passes.ts";
 * const encoder = device.createCommandEncoder();
 * encodePasses(encoder, [[score, scoreGroup, [8, 4, 1]], [attend, attendGroup, [16, 4, 1]]]);
 * device.queue.submit([encoder.finish()]);
 * ```
 */
export function encodePasses(encoder: GPUCommandEncoder, passes: readonly Pass[]): void {
  for (const [pipeline, group, [x, y, z]] of passes) {
    const pass = encoder.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, group);
    pass.dispatchWorkgroups(x, y, z);
    pass.end();
  }
}
