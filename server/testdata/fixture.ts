// Synthetic run files (schema 2) for tests and the load test: valid against the schema,
// deterministic for a seed, shaped like real runs (a dense reference and sparse methods per task
// and case, every raw sample, intervals, one noisy cell per task).
import type { Cell, Latency, RunFile, Summary } from "../../bench/results/schema.ts";

/** Options of {@link makeRun}; every field has a default. */
export interface FixtureOptions {
  runId?: string;
  seed?: number;
  startedAt?: string;
  verified?: boolean;
  /** Adapter description; null makes a run without GPU. */
  gpuDescription?: string | null;
  /** Multiplies every latency: > 1 makes a slower run. */
  slowdown?: number;
  /** Adds a failed cell with this error message. */
  failure?: string | null;
  /** The host's CPU: part of the device when the adapter is a software one such as llvmpipe. */
  cpuModel?: string;
  cores?: number;
}

function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}

// Where each of the ten samples of a cell lies, in units of its spread around the median: a
// long right tail, as real latencies have.
const OFFSETS = [-1, -0.6, -0.3, -0.1, -0.02, 0.02, 0.1, 0.4, 1.5, 2];

function summary(p50: number, spread: number): Summary {
  const samples = OFFSETS.map((o) => p50 * (1 + spread * o));
  const mean = samples.reduce((a, b) => a + b, 0) / samples.length;
  const sd = Math.sqrt(samples.reduce((a, x) => a + (x - mean) ** 2, 0) / (samples.length - 1));
  return {
    n: samples.length,
    min: samples[0],
    max: samples.at(-1)!,
    p50: (samples[4] + samples[5]) / 2,
    p95: samples[9],
    mean,
    sd,
    // The order statistics 2 and 9 of 10 cover the median with about 95% confidence.
    p50Ci95: [samples[1], samples[8]],
    samples,
  };
}

function latency(ms: number, spread: number, noisy: boolean): Latency {
  const kernel = summary(ms, spread);
  const wall = summary(ms + 11, spread * 1.25);
  return {
    source: "gpu-timestamp",
    unit: "ms",
    repsPerSample: 1,
    kernel,
    wall,
    reps: OFFSETS.map(() => 1),
    rounds: OFFSETS.map((_, i) => i),
    sampledIn: "fixture",
    timer: {
      wall: { resolutionMs: 0.005, minSampleSteps: wall.min / 0.005 },
      kernel: { resolutionMs: 0.0001, minSampleSteps: kernel.min / 0.0001 },
    },
    noisy,
  };
}

interface TaskShape {
  id: string;
  family: "attention" | "pruning" | "moe" | "retrieval";
  metric: string;
  higherIsBetter: boolean;
  baseQuality: number;
  cases: Record<string, number | string | boolean>[];
  reference: string;
  methods: { id: string; title: string; params: Record<string, number | string | boolean> }[];
}

const TASKS: TaskShape[] = [
  {
    id: "synthetic-attention",
    family: "attention",
    metric: "fidelity",
    higherIsBetter: true,
    baseQuality: 1,
    cases: [{ seq: 1024, causal: true }, { seq: 4096, causal: true }],
    reference: "dense-attention",
    methods: [
      { id: "dense-attention", title: "Dense attention", params: {} },
      { id: "sliding-window", title: "Sliding-window attention", params: { window: 128 } },
      { id: "sliding-window", title: "Sliding-window attention", params: { window: 256 } },
      { id: "block-sparse", title: "Block-sparse attention", params: { block: 64, density: 0.25 } },
    ],
  },
  {
    id: "mnist-mlp-pruning",
    family: "pruning",
    metric: "accuracy",
    higherIsBetter: true,
    baseQuality: 0.978,
    cases: [{ target: 0.5 }, { target: 0.9 }],
    reference: "unpruned",
    methods: [
      { id: "unpruned", title: "Unpruned model", params: {} },
      { id: "magnitude", title: "Magnitude pruning", params: {} },
      { id: "wanda", title: "Wanda", params: { pattern: "unstructured" } },
    ],
  },
  {
    id: "sotu-moe-lm",
    family: "moe",
    metric: "perplexity",
    higherIsBetter: false,
    baseQuality: 42,
    cases: [{ experts: 8 }],
    reference: "dense-mixture",
    methods: [
      { id: "dense-mixture", title: "Dense mixture", params: {} },
      { id: "top-k-gate", title: "Top-k gate", params: { k: 1 } },
      { id: "top-k-gate", title: "Top-k gate", params: { k: 2 } },
    ],
  },
  {
    id: "wordnet-gloss-retrieval",
    family: "retrieval",
    metric: "ndcg_at_10",
    higherIsBetter: true,
    baseQuality: 0.41,
    cases: [{ k: 10 }],
    reference: "bm25",
    methods: [
      { id: "bm25", title: "BM25", params: {} },
      { id: "sparse-embed", title: "Sparse embeddings", params: { topTerms: 32 } },
    ],
  },
];

type Params = Record<string, number | string | boolean>;

/** The fields every cell has, whatever its status. */
function common(
  task: TaskShape,
  taskCase: Params,
  method: { id: string; title: string; params: Params },
  at: string,
) {
  return {
    key: `${task.id}|${JSON.stringify(taskCase)}|${method.id}|${JSON.stringify(method.params)}`,
    task: {
      id: task.id,
      version: "1.0.0",
      family: task.family,
      case: taskCase,
      caseLabel: Object.entries(taskCase).map(([k, v]) => `${k}=${v}`).join(","),
      datasetId: `${task.id}-data`,
      datasetSha256: "0".repeat(64),
    },
    method: { id: method.id, version: "1.0.0", title: method.title, params: { ...method.params } },
    mainMetric: { name: task.metric, higherIsBetter: task.higherIsBetter },
    startedAt: at,
    endedAt: at,
  };
}

/** The task ids {@link makeRun} produces. */
export const FIXTURE_TASK_IDS: readonly string[] = TASKS.map((t) => t.id);

/**
 * A valid run file with every fixture task, deterministic for its options.
 *
 * @param options run id, seed, date, verification, device, slowdown and an optional failure
 * @returns the run file
 */
export function makeRun(options: FixtureOptions = {}): RunFile {
  const {
    runId = "fixture-run",
    seed = 1,
    startedAt = "2025-01-01T00:00:00.000Z",
    verified = true,
    gpuDescription = "llvmpipe (LLVM 15.0.6, 256 bits)",
    slowdown = 1,
    failure = null,
    cpuModel = "Fixture CPU",
    cores = 2,
  } = options;
  const random = rng(seed);
  const cells: Cell[] = [];
  for (const task of TASKS) {
    for (const [ci, taskCase] of task.cases.entries()) {
      const denseMs = (5 + 10 * ci) * slowdown * (1 + 0.02 * random());
      for (const [mi, method] of task.methods.entries()) {
        const isReference = method.id === task.reference;
        const density = isReference ? 1 : Math.max(0.05, 0.6 - 0.15 * mi + 0.05 * random());
        const ms = isReference ? denseMs : denseMs * (density + 0.05);
        const loss = isReference ? 0 : (1 - density) * 0.05 * (1 + random());
        const quality = task.higherIsBetter
          ? task.baseQuality * (1 - loss)
          : task.baseQuality * (1 + loss);
        // The last method of each task's last case did not settle within its sampling cap.
        const noisy = ci === task.cases.length - 1 && mi === task.methods.length - 1;
        const speedup = denseMs / ms;
        // The baseline against itself is exactly 1: its samples pair with themselves.
        const width = isReference ? 0 : noisy ? 0.12 : 0.03;
        cells.push({
          ...common(task, taskCase, method, startedAt),
          isReference,
          status: "ok",
          error: null,
          check: {
            passed: true,
            description: "matches the dense output",
            maxAbsError: 1e-6,
            tolerance: "1e-4",
          },
          metrics: {
            [task.metric]: quality,
            [`${task.metric}_ci95_low`]: quality * 0.995,
            [`${task.metric}_ci95_high`]: quality * 1.005,
          },
          latency: latency(ms, noisy ? 0.15 : 0.04, noisy),
          speedup: {
            value: speedup,
            ci95: [speedup * (1 - width), speedup * (1 + width)],
            clock: "gpu-timestamp",
            pairs: OFFSETS.length,
          },
          setup: { totalMs: 120, compileMs: 80, uploadMs: 5, firstRunMs: 90 },
          sparsity: isReference
            ? { nominalDensity: 1, realizedDensity: 1, flopsRatio: 1 }
            : { nominalDensity: density, realizedDensity: density * 1.01, flopsRatio: density },
        });
      }
    }
  }
  if (failure !== null) {
    const t = TASKS[0];
    const broken = { id: "broken-kernel", title: "Broken kernel", params: {} };
    cells.push({
      ...common(t, t.cases[0], broken, startedAt),
      key: `${t.id}|failing`,
      method: { ...broken, version: "0.1.0" },
      isReference: false,
      status: "failed",
      error: failure,
      check: null,
      metrics: {},
      latency: null,
      speedup: null,
      setup: null,
      sparsity: null,
    });
  }
  return {
    schemaVersion: 2,
    runId,
    status: "complete",
    startedAt,
    endedAt: startedAt,
    profile: "quick",
    seed,
    verified,
    options: {
      families: ["attention", "pruning", "moe", "retrieval"],
      methods: [],
      tasks: [],
      params: {},
      warmup: 2,
      runs: 5,
      maxRuns: 40,
      targetRelativeHalfWidth: 0.03,
      samplingBudgetMs: 10000,
      minSampleMs: 40,
      timeLimitMs: 60000,
    },
    environment: {
      deno: "2.9.6",
      v8: "13.0",
      typescript: "5.7",
      os: "linux",
      osRelease: "6.1",
      arch: "x86_64",
      cpuModel,
      cores,
      memoryBytes: 8 * 2 ** 30,
      gpu: gpuDescription === null ? null : {
        // Only llvmpipe is Mesa's: a hardware adapter must not look like a software one.
        vendor: gpuDescription.startsWith("llvmpipe")
          ? "mesa"
          : gpuDescription.split(" ")[0].toLowerCase(),
        architecture: gpuDescription.startsWith("llvmpipe") ? "llvmpipe" : "",
        device: "",
        description: gpuDescription,
        isFallbackAdapter: false,
        backend: "vulkan",
        features: ["timestamp-query"],
        timestampQuery: true,
      },
      gpuUnavailableReason: gpuDescription === null ? "no adapter" : null,
      git: { commit: "0123456789abcdef0123456789abcdef01234567", dirty: false },
    },
    cells,
  };
}

/** The committed fixture folder's runs, as {@link writeFixtures} writes them. */
export function fixtureRuns(): RunFile[] {
  return [
    // 2025-01-01-quick made again on another host with the same software adapter: every latency
    // 2.5× lower because the CPU is faster, the same speed-ups. Dated earlier so that the latest
    // verified run, and with it each task's default device, stays 2025-01-02-quick.
    makeRun({
      runId: "2024-12-31-other-host",
      seed: 1,
      startedAt: "2024-12-31T00:00:00.000Z",
      slowdown: 0.4,
      cpuModel: "AMD EPYC 7763 64-Core Processor",
      cores: 4,
    }),
    makeRun({ runId: "2025-01-01-quick", seed: 1, startedAt: "2025-01-01T00:00:00.000Z" }),
    makeRun({
      runId: "2025-01-02-quick",
      seed: 2,
      startedAt: "2025-01-02T00:00:00.000Z",
      slowdown: 1.5,
      failure: "shader compilation failed: unsupported feature 'subgroups'",
    }),
    makeRun({
      runId: "2025-01-03-submitted",
      seed: 3,
      startedAt: "2025-01-03T00:00:00.000Z",
      verified: false,
      gpuDescription: "Apple M2",
    }),
  ];
}

/**
 * Writes the fixture runs and an invalid run file into `dir`, plus a file that is not JSON
 * unless `unparsable` is false (the committed copy leaves it out: `deno fmt` cannot read it).
 */
export async function writeFixtures(dir: string, unparsable = true): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  for (const run of fixtureRuns()) {
    await Deno.writeTextFile(`${dir}/${run.runId}.json`, JSON.stringify(run, null, 2) + "\n");
  }
  if (unparsable) await Deno.writeTextFile(`${dir}/broken.json`, "{ this is not json");
  await Deno.writeTextFile(`${dir}/invalid.json`, JSON.stringify({ schemaVersion: 2, runId: "x" }));
}

if (import.meta.main) {
  await writeFixtures(new URL("./runs", import.meta.url).pathname, false);
}
