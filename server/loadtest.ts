// `deno task loadtest`: a bounded load test of the leaderboard on 127.0.0.1 only. It generates a
// results folder of N runs, starts `server/main.ts` on it in a child process, and drives the
// leaderboard API and page with C concurrent connections for D seconds each.
import { parseArgs } from "node:util";
import { makeRun } from "./testdata/fixture.ts";

/** Options of {@link loadTest}; every field has a default and a cap. */
export interface LoadTestOptions {
  runs?: number;
  connections?: number;
  durationS?: number;
  taskId?: string;
}

/** What one endpoint did under load. */
export interface EndpointResult {
  path: string;
  requests: number;
  errors: number;
  requestsPerS: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

// Caps keep a typo from turning this into a long or heavy job.
const LIMITS = { runs: 5000, connections: 200, durationS: 120 };

function capped(name: keyof typeof LIMITS, value: number): number {
  if (!Number.isFinite(value) || value < 1 || value > LIMITS[name]) {
    throw new RangeError(`'${name}' must be between 1 and ${LIMITS[name]}: got ${value}`);
  }
  return Math.floor(value);
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

/** Writes `runs` generated run files, two devices and a day apart each. */
export async function writeLoadFixture(dir: string, runs: number): Promise<void> {
  const start = Date.parse("2024-01-01T00:00:00.000Z");
  for (let i = 0; i < runs; i++) {
    const run = makeRun({
      runId: `load-${String(i).padStart(5, "0")}`,
      seed: i + 1,
      startedAt: new Date(start + i * 3_600_000).toISOString(),
      gpuDescription: i % 2 ? "llvmpipe (LLVM 15.0.6, 256 bits)" : "NVIDIA H200",
      slowdown: 1 + (i % 7) / 20,
      verified: i % 10 !== 0,
    });
    await Deno.writeTextFile(`${dir}/${run.runId}.json`, JSON.stringify(run));
  }
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

async function waitReady(url: string, timeoutMs: number): Promise<void> {
  const end = performance.now() + timeoutMs;
  while (performance.now() < end) {
    try {
      const res = await fetch(url);
      await res.body?.cancel();
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`The server did not answer ${url} within ${timeoutMs} ms`);
}

async function drive(origin: string, path: string, connections: number, durationS: number) {
  const latencies: number[] = [];
  let errors = 0;
  const end = performance.now() + durationS * 1000;
  const worker = async () => {
    while (performance.now() < end) {
      const t0 = performance.now();
      try {
        const res = await fetch(origin + path);
        await res.arrayBuffer();
        if (res.status !== 200) errors++;
      } catch {
        errors++;
      }
      latencies.push(performance.now() - t0);
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: connections }, worker));
  const elapsed = (performance.now() - t0) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    path,
    requests: latencies.length,
    errors,
    requestsPerS: latencies.length / elapsed,
    p50Ms: quantile(latencies, 0.5),
    p99Ms: quantile(latencies, 0.99),
    maxMs: latencies.at(-1) ?? NaN,
  };
}

/**
 * Runs the load test: generates the fixture, serves it on 127.0.0.1 and measures.
 *
 * @param options runs in the fixture, concurrent connections, seconds per endpoint
 * @returns one result per endpoint, and how long the server took to load the folder
 * @throws {RangeError} when an option is out of bounds
 */
export async function loadTest(options: LoadTestOptions = {}) {
  const runs = capped("runs", options.runs ?? 1000);
  const connections = capped("connections", options.connections ?? 50);
  const durationS = capped("durationS", options.durationS ?? 20);
  const taskId = options.taskId ?? "synthetic-attention";
  const dir = await Deno.makeTempDir({ prefix: "sparsebench-load-" });
  let child: Deno.ChildProcess | null = null;
  try {
    await writeLoadFixture(dir, runs);
    const port = freePort();
    const origin = `http://127.0.0.1:${port}`;
    child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        new URL("./main.ts", import.meta.url).pathname,
        "--results",
        dir,
        "--port",
        String(port),
      ],
      env: { HOSTNAME_BIND: "127.0.0.1" },
      stdout: "null",
      stderr: "null",
    }).spawn();
    const t0 = performance.now();
    await waitReady(`${origin}/api/health`, 120_000);
    const startupMs = performance.now() - t0;
    const results: EndpointResult[] = [];
    for (const path of [`/api/tasks/${taskId}/leaderboard`, `/tasks/${taskId}`]) {
      results.push(await drive(origin, path, connections, durationS));
    }
    return { runs, connections, durationS, startupMs, results };
  } finally {
    if (child) {
      child.kill("SIGTERM");
      await child.status;
    }
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      runs: { type: "string" },
      connections: { type: "string" },
      duration: { type: "string" },
      json: { type: "boolean" },
    },
    strict: true,
  });
  try {
    const report = await loadTest({
      runs: values.runs ? Number(values.runs) : undefined,
      connections: values.connections ? Number(values.connections) : undefined,
      durationS: values.duration ? Number(values.duration) : undefined,
    });
    if (values.json) console.log(JSON.stringify(report, null, 2));
    else {
      console.log(
        `${report.runs} runs, ${report.connections} connections, ${report.durationS} s per endpoint; ` +
          `server ready in ${
            (report.startupMs / 1000).toFixed(1)
          } s (${Deno.build.os}, ${navigator.hardwareConcurrency} cores)`,
      );
      for (const r of report.results) {
        console.log(
          `${r.path.padEnd(45)} ${r.requestsPerS.toFixed(0).padStart(6)} req/s  p50 ${
            r.p50Ms.toFixed(1)
          } ms  ` +
            `p99 ${r.p99Ms.toFixed(1)} ms  max ${
              r.maxMs.toFixed(1)
            } ms  errors ${r.errors}/${r.requests}`,
        );
      }
    }
    if (report.results.some((r) => r.errors > 0)) Deno.exit(1);
  } catch (error) {
    console.error((error as Error).message);
    Deno.exit(2);
  }
}
