// A browser run for tests: a fixture run as the runner page would send it (source "browser",
// the coarse client record, adapter.info fields without a description, no host).
import type { RunFile } from "../../bench/results/schema.ts";
import { makeRun } from "./fixture.ts";

/** A fixture run rewritten as one from the runner page on SwiftShader in headless Chromium. */
export function makeBrowserRun(runId = "browser-run", seed = 7): RunFile {
  const run = makeRun({ runId, seed, verified: false, startedAt: "2026-12-01T00:00:00.000Z" });
  return {
    ...run,
    source: "browser",
    browser: {
      name: "HeadlessChrome",
      majorVersion: 156,
      osFamily: "linux",
      crossOriginIsolated: true,
    },
    environment: {
      ...run.environment,
      deno: "",
      v8: "",
      typescript: "",
      os: "linux",
      osRelease: "",
      arch: "",
      cpuModel: "",
      cores: 1,
      memoryBytes: 0,
      gpu: {
        vendor: "google",
        architecture: "swiftshader",
        device: "",
        description: "",
        isFallbackAdapter: true,
        backend: "",
        features: ["timestamp-query"],
        timestampQuery: true,
      },
      gpuUnavailableReason: null,
    },
  };
}
