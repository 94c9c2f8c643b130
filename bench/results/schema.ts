// The result file format: the one source of truth for what `deno task bench` writes and the
// leaderboard reads. Readers ignore unknown keys; SCHEMA_VERSION changes only on breaking changes.
import { z } from "zod";
import { Family, Profile } from "../metadata.ts";

export const SCHEMA_VERSION = 1;

/** Run ids become file names and URL segments, so they are kept to a safe alphabet. */
export const RunId = z.string().regex(
  /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/,
  "run ids use letters, digits, '.', '_' and '-'",
);

const ParamValues = z.record(z.string(), z.union([z.number(), z.boolean(), z.string()]));

export const Summary = z.object({
  n: z.number().int().min(1),
  min: z.number(),
  max: z.number(),
  p50: z.number(),
  p95: z.number(),
  mean: z.number(),
  sd: z.number().min(0),
  ci95: z.tuple([z.number(), z.number()]),
});

export const Latency = z.object({
  /** Which clock the headline figures come from: GPU timestamp queries, or submit-to-done wall time. */
  source: z.enum(["gpu-timestamp", "wall"]),
  unit: z.literal("ms"),
  /** Dispatches of the kernel in one submit; every figure is per dispatch. */
  repsPerSample: z.number().int().min(1),
  kernel: Summary.nullable(),
  wall: Summary,
});

export const Gpu = z.object({
  vendor: z.string(),
  architecture: z.string(),
  device: z.string(),
  description: z.string(),
  isFallbackAdapter: z.boolean(),
  backend: z.string(),
  features: z.array(z.string()),
  timestampQuery: z.boolean(),
});

export const Environment = z.object({
  deno: z.string(),
  v8: z.string(),
  typescript: z.string(),
  os: z.string(),
  osRelease: z.string(),
  arch: z.string(),
  cpuModel: z.string(),
  cores: z.number().int().min(1),
  memoryBytes: z.number().min(0),
  hostname: z.string(),
  gpu: Gpu.nullable(),
  /** Why there is no GPU, when there is none. */
  gpuUnavailableReason: z.string().nullable(),
  git: z.object({ commit: z.string().nullable(), dirty: z.boolean().nullable() }),
});

export const Cell = z.object({
  /** Stable key of (task, case, method, params): what `--resume` matches on. */
  key: z.string(),
  task: z.object({
    id: z.string(),
    version: z.string(),
    family: Family,
    case: ParamValues,
    datasetId: z.string(),
    /** sha256 of the exact input this cell ran on. */
    datasetSha256: z.string().nullable(),
    /** Set when the data differs from what the task names (e.g. a substituted source). */
    datasetNote: z.string().optional(),
  }),
  method: z.object({
    id: z.string(),
    version: z.string(),
    title: z.string(),
    params: ParamValues,
  }),
  isReference: z.boolean(),
  status: z.enum(["ok", "failed", "timeout", "skipped"]),
  error: z.string().nullable(),
  check: z.object({
    passed: z.boolean(),
    description: z.string(),
    maxAbsError: z.number().nullable(),
    tolerance: z.string(),
  }).nullable(),
  mainMetric: z.object({ name: z.string(), higherIsBetter: z.boolean() }),
  metrics: z.record(z.string(), z.number()),
  latency: Latency.nullable(),
  /** Latency of the task's reference method (same case, same run) / this cell's, on p50. */
  speedup: z.number().nullable(),
  setup: z.object({
    totalMs: z.number(),
    compileMs: z.number().nullable(),
    uploadMs: z.number().nullable(),
    /** The first (cold) dispatch, which carries lazy shader compilation on some adapters. */
    firstRunMs: z.number().nullable(),
  }).nullable(),
  sparsity: z.object({
    nominalDensity: z.number().nullable(),
    realizedDensity: z.number().nullable(),
    flopsRatio: z.number().nullable(),
  }).nullable(),
  startedAt: z.string(),
  endedAt: z.string(),
});

export const RunFile = z.object({
  schemaVersion: z.literal(SCHEMA_VERSION),
  runId: RunId,
  status: z.enum(["running", "complete", "interrupted"]),
  startedAt: z.string(),
  endedAt: z.string().nullable(),
  profile: Profile,
  seed: z.number().int(),
  /** Whether the file was produced by this project's machines or submitted by someone else. */
  verified: z.boolean(),
  options: z.object({
    families: z.array(z.string()),
    methods: z.array(z.string()),
    tasks: z.array(z.string()),
    params: z.record(z.string(), z.array(z.union([z.number(), z.boolean(), z.string()]))),
    warmup: z.number().int().min(0),
    runs: z.number().int().min(1),
    timeLimitMs: z.number().min(1),
  }),
  environment: Environment,
  cells: z.array(Cell),
});

export type Summary = z.infer<typeof Summary>;
export type Latency = z.infer<typeof Latency>;
export type Environment = z.infer<typeof Environment>;
export type GpuInfo = z.infer<typeof Gpu>;
export type Cell = z.infer<typeof Cell>;
export type RunFile = z.infer<typeof RunFile>;

/** The JSON Schema of a run file, as published in results/schema.json and /api/schema. */
export function runFileJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(RunFile, { target: "draft-2020-12" }) as Record<string, unknown>,
    $id: "https://sparsebench.dev/schema/run-file.json",
    title: `sparsebench run file (schema version ${SCHEMA_VERSION})`,
  };
}
