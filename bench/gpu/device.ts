// One WebGPU device for the whole run: the adapter is asked for once, its info is recorded, and
// a lost device is noticed and re-acquired for the next cell.
import type { GpuInfo } from "../results/schema.ts";

/** What a method receives to run on the GPU. */
export interface GpuContext {
  readonly device: GPUDevice;
  readonly info: GpuInfo;
  /** Whether timestamp queries are enabled on `device`. */
  readonly timestamps: boolean;
}

const VULKAN_ICD_DIRS = ["/usr/share/vulkan/icd.d", "/etc/vulkan/icd.d"];

function hasVulkanDriver(): boolean {
  for (const dir of VULKAN_ICD_DIRS) {
    try {
      for (const entry of Deno.readDirSync(dir)) if (entry.name.endsWith(".json")) return true;
    } catch {
      // No such folder: look in the next.
    }
  }
  return false;
}

/**
 * The backends to try, in order. A user's DENO_WEBGPU_BACKEND is respected as it is; otherwise
 * Vulkan first where a Vulkan driver is installed (Mesa's lavapipe compiles shaders far faster
 * than the GL path on CPU-only machines), then GL.
 */
export function backendCandidates(): string[] {
  const chosen = Deno.env.get("DENO_WEBGPU_BACKEND");
  if (chosen) return [chosen];
  return hasVulkanDriver() ? ["vulkan", "gl"] : ["gl"];
}

// Mesa's window-system code complains on every adapter request without a runtime dir; compute
// needs none, so a private temporary one keeps the run's output clean.
function ensureRuntimeDir(): void {
  if (Deno.env.get("XDG_RUNTIME_DIR") || Deno.build.os !== "linux") return;
  try {
    Deno.env.set("XDG_RUNTIME_DIR", Deno.makeTempDirSync({ prefix: "sparsebench-xdg-" }));
  } catch {
    // Only cosmetic: leave it unset.
  }
}

/** Holds the run's device; `current()` re-acquires it after a loss. */
export class GpuProvider {
  #context: GpuContext | null = null;
  #unavailable: string | null = null;
  #lostReason: string | null = null;
  #acquired = false;

  /**
   * The device for the next piece of work, or null with {@link unavailableReason} set when the
   * machine has no WebGPU adapter.
   */
  async current(): Promise<GpuContext | null> {
    if (this.#context) return this.#context;
    if (this.#acquired && this.#unavailable) return null;
    this.#acquired = true;
    this.#context = await this.#acquire();
    return this.#context;
  }

  /** Why no adapter could be had, once `current()` has returned null. */
  get unavailableReason(): string | null {
    return this.#unavailable;
  }

  /** The reason of the last device loss, cleared when read. */
  takeLostReason(): string | null {
    const reason = this.#lostReason;
    this.#lostReason = null;
    return reason;
  }

  /** Destroys the device (at the end of a run). */
  destroy(): void {
    this.#context?.device.destroy();
    this.#context = null;
  }

  async #acquire(): Promise<GpuContext | null> {
    if (!("gpu" in navigator) || !navigator.gpu) {
      this.#unavailable = "this Deno has no navigator.gpu (WebGPU is not available)";
      return null;
    }
    ensureRuntimeDir();
    let adapter: GPUAdapter | null = null;
    let backend = "";
    const failures: string[] = [];
    for (backend of backendCandidates()) {
      // Deno's wgpu reads the variable when an adapter is requested, not at start-up.
      Deno.env.set("DENO_WEBGPU_BACKEND", backend);
      try {
        adapter = await navigator.gpu.requestAdapter({ powerPreference: "high-performance" });
      } catch (error) {
        failures.push(`${backend}: ${(error as Error).message}`);
      }
      if (adapter) break;
      failures.push(`${backend}: no adapter`);
    }
    if (!adapter) {
      this.#unavailable = `no WebGPU adapter found (${
        failures.join("; ")
      }); install mesa-vulkan-drivers for a software one`;
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
    const info: GpuInfo = {
      vendor: adapter.info.vendor,
      architecture: adapter.info.architecture,
      device: adapter.info.device,
      description: adapter.info.description,
      isFallbackAdapter: Boolean(
        (adapter.info as { isFallbackAdapter?: boolean }).isFallbackAdapter,
      ),
      backend,
      features: [...adapter.features].sort(),
      timestampQuery: timestamps,
    };
    const context: GpuContext = { device, info, timestamps };
    device.lost.then((lost) => {
      if (this.#context?.device !== device) return;
      this.#lostReason = `GPU device lost (${lost.reason}): ${lost.message}`;
      this.#context = null;
      this.#acquired = false;
    });
    return context;
  }
}
