// One method's GPU output on seeded inputs, as a plain array: what the browser test compares
// with the same method run by Deno on the same inputs. Exposed by the runner bundle as
// globalThis.sparsebenchKernelProbe (it runs nothing unless called).
import {
  type AttentionMethod,
  type AttentionShape,
  randomInputs,
  runOnGpu,
} from "../bench/families/attention/mod.ts";
import type { GpuContext } from "../bench/gpu/device.ts";
import type { Method, ParamValues } from "../bench/metadata.ts";

/** What to run: a method of the attention family on `randomInputs(shape, seed)`. */
export interface ProbeRequest {
  methodId: string;
  shape: AttentionShape;
  seed: number;
  params?: ParamValues;
}

/** The output rows (heads × queries × headDim, row-major) and keys visited per query row. */
export interface ProbeResult {
  out: number[];
  visited: number[];
}

/**
 * Runs one attention method once on seeded inputs and reads its output back.
 *
 * @param gpu the device
 * @param methods the methods to choose from
 * @param request method id, shape, seed and parameters (the method's defaults otherwise)
 * @throws {Error} for a method id not among `methods`
 */
export async function probeKernel(
  gpu: GpuContext,
  methods: readonly Method[],
  request: ProbeRequest,
): Promise<ProbeResult> {
  const method = methods.find((m) => m.meta.id === request.methodId);
  if (!method || method.meta.family !== "attention") {
    throw new Error(`No attention method '${request.methodId}' to probe`);
  }
  const defaults = Object.fromEntries(
    Object.entries(method.meta.parameters).map(([k, spec]) => [k, spec.default]),
  );
  const inputs = randomInputs(request.shape, request.seed);
  // The family was checked above: its methods' implementations are AttentionMethods.
  const impl = method.impl as AttentionMethod<ParamValues>;
  const result = await runOnGpu(gpu, impl, {
    shape: request.shape,
    inputs,
    params: { ...defaults, ...request.params },
  });
  return { out: Array.from(result.out), visited: Array.from(result.visited) };
}
