// The device fingerprint results are grouped by: numbers from different adapters are not
// comparable, so every table and chart is filtered by one of these.
import type { RunFile } from "../bench/results/schema.ts";

/** An adapter as the leaderboard groups it. */
export interface Device {
  /** URL-safe id: a slug of the description plus a hash of the whole fingerprint. */
  id: string;
  vendor: string;
  architecture: string;
  description: string;
  /** What people read: the description, or vendor and architecture when it is empty. */
  label: string;
}

/** The id of runs made without any GPU adapter. */
export const NO_GPU_ID = "no-gpu";

/** Ids of devices accepted in URLs: the alphabet {@link deviceOf} produces. */
export const DEVICE_ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,79}$/;

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
 * The device fingerprint of a run: vendor, architecture and description of its adapter.
 *
 * @param run a validated run file
 * @returns the device, or the "no GPU" device when the run had no adapter
 * @example deviceOf(run).id // "llvmpipe-llvm-15-0-6-256-bits-3f2a9c1e"
 */
export function deviceOf(run: RunFile): Device {
  const gpu = run.environment.gpu;
  if (!gpu) {
    return { id: NO_GPU_ID, vendor: "", architecture: "", description: "", label: "no GPU" };
  }
  const label = gpu.description.trim() ||
    [gpu.vendor, gpu.architecture].filter((s) => s.trim()).join(" ") || "unknown adapter";
  const hash = fnv1a(`${gpu.vendor}\u0000${gpu.architecture}\u0000${gpu.description}`);
  const base = slug(label);
  return {
    id: base ? `${base}-${hash}` : `gpu-${hash}`,
    vendor: gpu.vendor,
    architecture: gpu.architecture,
    description: gpu.description,
    label,
  };
}
