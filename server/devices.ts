// The device fingerprint results are grouped by: numbers from different devices are not
// comparable, so every table and chart is filtered by one of these. A software adapter runs on
// the host's CPU, so for one the host is part of the device; computed when a run is read, so old
// run files are grouped by the current rule without being rewritten.
import type { RunFile } from "../bench/results/schema.ts";

/** A device as the leaderboard groups it. */
export interface Device {
  /** URL-safe id: a slug of the label plus a hash of the whole fingerprint. */
  id: string;
  vendor: string;
  architecture: string;
  description: string;
  /** The WebGPU backend (vulkan, metal, d3d12…); "" without a GPU. */
  backend: string;
  /** Whether the adapter computes on the CPU (a fallback or software rasteriser). */
  software: boolean;
  /** The host CPU and its core count when they are part of the fingerprint, else null. */
  host: { cpuModel: string; cores: number } | null;
  /** What people read: adapter · backend, and · host where the host is part of the device. */
  label: string;
  /** For a run from the runner page: the browser, its major version and the OS family. */
  browser?: string;
}

/** Ids of devices accepted in URLs: the alphabet {@link deviceOf} produces. */
export const DEVICE_ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,79}$/;

/** Adapters that run on the CPU: Mesa's llvmpipe, lavapipe and softpipe, SwiftShader, WARP. */
export const SOFTWARE_ADAPTER =
  /llvmpipe|lavapipe|softpipe|swiftshader|\bwarp\b|microsoft basic render driver/i;

// FNV-1a, 32 bits: a stable, synchronous hash is all an id needs (not a security boundary).
function fnv1a(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, "0");
}

function slug(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 40)
    .replace(/-+$/, "");
}

/**
 * Whether an adapter computes on the CPU, so that its speed is the host's.
 *
 * @param gpu the adapter as a run file records it
 * @returns true for a fallback adapter or a known software rasteriser
 * @example isSoftwareAdapter({ ...gpu, description: "llvmpipe (LLVM 15.0.6, 256 bits)" }) // true
 */
export function isSoftwareAdapter(gpu: NonNullable<RunFile["environment"]["gpu"]>): boolean {
  return gpu.isFallbackAdapter ||
    [gpu.description, gpu.device, gpu.architecture].some((s) => SOFTWARE_ADAPTER.test(s));
}

/**
 * The device a cell ran on: its shard's in a merged run (shards may run on different machines),
 * else the run's.
 *
 * @param run a validated run file
 * @param cell one of its cells
 */
export function deviceOfCell(run: RunFile, cell: RunFile["cells"][number]): Device {
  const shard = cell.shard === undefined
    ? undefined
    : run.shards?.find((s) => s.index === cell.shard);
  return deviceOf(shard ? { ...run, environment: shard.environment } : run);
}

/**
 * The device of a run: the adapter (vendor, architecture, device, description) and backend,
 * plus the host CPU model and core count for a software adapter; without a GPU, the host CPU.
 *
 * @param run a validated run file
 * @returns the device
 * @example deviceOf(run).label // "llvmpipe (LLVM 15.0.6, 256 bits) · vulkan · AMD EPYC 7763, 4 cores"
 */
export function deviceOf(run: RunFile): Device {
  const env = run.environment;
  const gpu = env.gpu;
  if (run.source === "browser" && gpu) return browserDeviceOf(run, gpu);
  const hostOf = () => ({ cpuModel: env.cpuModel.trim() || "unknown CPU", cores: env.cores });
  if (!gpu) {
    const host = hostOf();
    const label = `no GPU · ${host.cpuModel}, ${host.cores} cores`;
    return {
      id: `no-gpu-${slug(host.cpuModel)}-${fnv1a(`${host.cpuModel}\u0000${host.cores}`)}`,
      vendor: "",
      architecture: "",
      description: "",
      backend: "",
      software: true,
      host,
      label,
    };
  }
  const software = isSoftwareAdapter(gpu);
  const host = software ? hostOf() : null;
  const adapter = gpu.description.trim() ||
    [gpu.vendor, gpu.architecture].filter((s) => s.trim()).join(" ") || "unknown adapter";
  const parts = [adapter, gpu.backend.trim(), host ? `${host.cpuModel}, ${host.cores} cores` : ""];
  const label = parts.filter((p) => p).join(" · ");
  const fingerprint = [gpu.vendor, gpu.architecture, gpu.device, gpu.description, gpu.backend];
  if (host) fingerprint.push(host.cpuModel, String(host.cores));
  const hash = fnv1a(fingerprint.join("\u0000"));
  const base = slug(adapter);
  return {
    id: base ? `${base}-${hash}` : `gpu-${hash}`,
    vendor: gpu.vendor,
    architecture: gpu.architecture,
    description: gpu.description,
    backend: gpu.backend,
    software,
    host,
    label,
  };
}

/**
 * The device of a run from the runner page: adapter.info's vendor, architecture and device, the
 * browser and its major version, and the OS family. A browser records no host, so a software
 * adapter there (SwiftShader) is one device per browser version and OS family, whatever the CPU
 * under it: the label says so.
 */
function browserDeviceOf(run: RunFile, gpu: NonNullable<RunFile["environment"]["gpu"]>): Device {
  const adapter = [gpu.vendor, gpu.architecture, gpu.device].map((s) => s.trim()).filter((s) => s)
    .join(" ") || "unknown adapter";
  const b = run.browser;
  const browser = b ? `${b.name} ${b.majorVersion} on ${b.osFamily}` : "a browser";
  const software = isSoftwareAdapter(gpu);
  const label = `${adapter} · ${browser}${software ? " (software, host not recorded)" : ""}`;
  const fingerprint = ["browser", gpu.vendor, gpu.architecture, gpu.device, browser];
  return {
    id: `browser-${slug(adapter) || "gpu"}-${fnv1a(fingerprint.join("\u0000"))}`,
    vendor: gpu.vendor,
    architecture: gpu.architecture,
    description: gpu.description,
    backend: gpu.backend,
    software,
    host: null,
    label,
    browser,
  };
}

/**
 * The class a device is compared within when its own figures are missing: CPU-backed adapters
 * are one class, GPUs one per vendor and architecture.
 *
 * @param device a device from {@link deviceOf}
 * @example deviceClassOf(deviceOf(run)) // "software adapter (CPU)"
 */
export function deviceClassOf(device: Device): string {
  if (device.software) return "software adapter (CPU)";
  const parts = [device.vendor, device.architecture].map((s) => s.trim()).filter((s) => s);
  return parts.length > 0 ? parts.join(" ") : "unknown GPU";
}
