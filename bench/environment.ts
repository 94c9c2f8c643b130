// The environment fingerprint every run records: software versions, machine, adapter, git state.
import os from "node:os";
import type { Environment, GpuInfo } from "./results/schema.ts";

async function git(args: string[]): Promise<string | null> {
  try {
    const out = await new Deno.Command("git", { args, stdout: "piped", stderr: "null" }).output();
    return out.success ? new TextDecoder().decode(out.stdout).trim() : null;
  } catch {
    return null;
  }
}

/**
 * Collects the environment of this process.
 *
 * @param gpu the adapter's info, or null with `gpuUnavailableReason`
 */
export async function collectEnvironment(
  gpu: GpuInfo | null,
  gpuUnavailableReason: string | null,
): Promise<Environment> {
  const commit = await git(["rev-parse", "HEAD"]);
  const status = commit === null
    ? null
    : await git(["status", "--porcelain", "--untracked-files=no"]);
  const cpus = os.cpus();
  return {
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    typescript: Deno.version.typescript,
    os: Deno.build.os,
    osRelease: os.release(),
    arch: Deno.build.arch,
    cpuModel: cpus[0]?.model?.trim() || "unknown",
    cores: navigator.hardwareConcurrency || cpus.length || 1,
    memoryBytes: Deno.systemMemoryInfo().total,
    // A public run file names no machine: the hostname only when asked for.
    ...(Deno.env.get("SPARSEBENCH_RECORD_HOSTNAME") === "1" ? { hostname: Deno.hostname() } : {}),
    gpu,
    gpuUnavailableReason,
    git: { commit, dirty: status === null ? null : status.length > 0 },
  };
}
