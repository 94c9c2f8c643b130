// The run's WebGPU device in a browser: the same contract as the CLI's GpuProvider (the runner
// takes one), asking navigator.gpu for the adapter with no Deno backend to choose. What is
// recorded of the adapter is coarse on purpose: vendor, architecture and device from
// adapter.info, whether it is a fallback adapter, and whether timestamps were used — never the
// free-text description.
import { type GpuContext, GpuProvider } from "../bench/gpu/device.ts";
import type { GpuInfo } from "../bench/results/schema.ts";

/** The adapter fields a browser run records (and the page lists as sent). */
export function browserGpuInfo(adapter: GPUAdapter, timestamps: boolean): GpuInfo {
  const info = adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
  return {
    vendor: info.vendor ?? "",
    architecture: info.architecture ?? "",
    device: info.device ?? "",
    // Left out: a driver string can name a machine or an installation.
    description: "",
    isFallbackAdapter: Boolean(info.isFallbackAdapter),
    // A browser does not say which native API serves WebGPU.
    backend: "",
    // Only the feature the timing depends on: the full list adds bits to a fingerprint.
    features: timestamps ? ["timestamp-query"] : [],
    timestampQuery: timestamps,
  };
}

/** Holds the page's device; `current()` asks again after a loss, as the CLI's does. */
export class BrowserGpuProvider extends GpuProvider {
  #context: GpuContext | null = null;
  #unavailable: string | null = null;
  #lost: string | null = null;
  #tried = false;

  override async current(): Promise<GpuContext | null> {
    if (this.#context) return this.#context;
    if (this.#tried && this.#unavailable) return null;
    this.#tried = true;
    const gpu = (navigator as Navigator & { gpu?: GPU }).gpu;
    if (!gpu) {
      this.#unavailable = "this browser has no navigator.gpu (WebGPU is off or unsupported)";
      return null;
    }
    const adapter = await gpu.requestAdapter({ powerPreference: "high-performance" });
    if (!adapter) {
      this.#unavailable = "the browser found no WebGPU adapter";
      return null;
    }
    const timestamps = adapter.features.has("timestamp-query");
    const device = await adapter.requestDevice({
      requiredFeatures: timestamps ? ["timestamp-query"] : [],
      requiredLimits: {
        maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
        maxBufferSize: adapter.limits.maxBufferSize,
      },
    });
    const context: GpuContext = { device, info: browserGpuInfo(adapter, timestamps), timestamps };
    device.lost.then((lost) => {
      if (this.#context?.device !== device) return;
      this.#lost = `GPU device lost (${lost.reason}): ${lost.message}`;
      this.#context = null;
      this.#tried = false;
    });
    this.#context = context;
    return context;
  }

  override get unavailableReason(): string | null {
    return this.#unavailable;
  }

  override takeLostReason(): string | null {
    const reason = this.#lost;
    this.#lost = null;
    return reason;
  }

  override destroy(): void {
    this.#context?.device.destroy();
    this.#context = null;
  }
}
