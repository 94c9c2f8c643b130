// The GPU for tests: one device for the whole test process, or a reason why there is none, so
// GPU tests are ignored (and say why) on machines without any WebGPU adapter.
import { type GpuContext, GpuProvider } from "../bench/gpu/device.ts";

const provider = new GpuProvider();

/** The shared device, or null where the machine has no adapter. */
export const testGpu: GpuContext | null = await provider.current();

if (!testGpu) console.warn(`GPU tests are ignored: ${provider.unavailableReason}`);
