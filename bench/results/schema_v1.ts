// Run files of schema 1 (before 2026-12): read as they are and upgraded in memory, so the
// committed history stays readable without being rewritten. Schema 1 kept no raw samples, so an
// upgraded file has no median or speed-up intervals (null) and no sampling record.
import { z } from "zod";
import { Family, paramsLabel, Profile } from "../metadata.ts";
import {
  type Cell,
  ParamValues,
  type RunFile,
  RunId,
  SCHEMA_VERSION,
  type Summary,
} from "./schema.ts";

const VERSION = 1;

/** Run ids become file names and URL segments, so they are kept to a safe alphabet. */

const SummaryV1 = z.object({
  n: z.number().int().min(1),
  min: z.number(),
  max: z.number(),
  p50: z.number(),
  p95: z.number(),
  mean: z.number(),
  sd: z.number().min(0),
  ci95: z.tuple([z.number(), z.number()]),
});

const LatencyV1 = z.object({
  /** Which clock the headline figures come from: GPU timestamp queries, or submit-to-done wall time. */
  source: z.enum(["gpu-timestamp", "wall"]),
  unit: z.literal("ms"),
  /** Dispatches of the kernel in one submit; every figure is per dispatch. */
  repsPerSample: z.number().int().min(1),
  kernel: SummaryV1.nullable(),
  wall: SummaryV1,
});

const GpuV1 = z.object({
  vendor: z.string(),
  architecture: z.string(),
  device: z.string(),
  description: z.string(),
  isFallbackAdapter: z.boolean(),
  backend: z.string(),
  features: z.array(z.string()),
  timestampQuery: z.boolean(),
});

const EnvironmentV1 = z.object({
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
  gpu: GpuV1.nullable(),
  /** Why there is no GPU, when there is none. */
  gpuUnavailableReason: z.string().nullable(),
  git: z.object({ commit: z.string().nullable(), dirty: z.boolean().nullable() }),
});

const CellV1 = z.object({
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
  latency: LatencyV1.nullable(),
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

export const RunFileV1 = z.object({
  schemaVersion: z.literal(VERSION),
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
  environment: EnvironmentV1,
  cells: z.array(CellV1),
});

type SummaryV1 = z.infer<typeof SummaryV1>;
type CellV1 = z.infer<typeof CellV1>;

/** The parsed shape of a schema-1 run file. */
export type RunFileV1 = z.infer<typeof RunFileV1>;

/** Whether `json` claims schema 1 (so it is parsed by {@link RunFileV1}). */
export function isSchemaV1(json: unknown): boolean {
  return typeof json === "object" && json !== null &&
    (json as { schemaVersion?: unknown }).schemaVersion === VERSION;
}

function upgradeSummary(s: SummaryV1): Summary {
  const { ci95: _meanInterval, ...rest } = s;
  return { ...rest, p50Ci95: null, samples: [] };
}

function upgradeCell(c: CellV1): Cell {
  const common = {
    key: c.key,
    task: { ...c.task, caseLabel: paramsLabel(c.task.case) },
    method: c.method,
    isReference: c.isReference,
    mainMetric: c.mainMetric,
    metrics: c.metrics,
    startedAt: c.startedAt,
    endedAt: c.endedAt,
  };
  if (c.status === "ok" && c.latency && c.check && c.setup) {
    const source = c.latency.source;
    return {
      ...common,
      status: "ok",
      error: null,
      check: c.check,
      setup: c.setup,
      sparsity: c.sparsity ?? { nominalDensity: null, realizedDensity: null, flopsRatio: null },
      latency: {
        source,
        unit: "ms",
        repsPerSample: c.latency.repsPerSample,
        kernel: c.latency.kernel ? upgradeSummary(c.latency.kernel) : null,
        wall: upgradeSummary(c.latency.wall),
        reps: [],
        rounds: [],
        sampledIn: null,
        timer: {
          wall: { resolutionMs: null, minSampleSteps: null },
          kernel: c.latency.kernel ? { resolutionMs: null, minSampleSteps: null } : null,
        },
        noisy: null,
      },
      speedup: c.speedup === null
        ? null
        : { value: c.speedup, ci95: null, clock: source, pairs: 0 },
    };
  }
  const status = c.status === "ok" ? "failed" : c.status;
  return {
    ...common,
    status,
    error: c.error ?? (c.status === "ok" ? "schema 1 cell marked ok without its latency" : status),
    check: c.check,
    latency: null,
    speedup: null,
    setup: c.setup,
    sparsity: c.sparsity,
  };
}

/**
 * A schema-1 run as the current schema: intervals and sampling records it never had are null or
 * empty, and `upgradedFrom` says so.
 *
 * @param v1 a parsed schema-1 run file
 * @returns the same run in the current schema
 */
export function upgradeRunFileV1(v1: RunFileV1): RunFile {
  const { hostname: _hostname, ...environment } = v1.environment;
  return {
    ...v1,
    schemaVersion: SCHEMA_VERSION,
    upgradedFrom: VERSION,
    options: {
      ...v1.options,
      maxRuns: v1.options.runs,
      targetRelativeHalfWidth: null,
      samplingBudgetMs: null,
      // Schema-1 runs repeated dispatches up to 40 ms a submit, a constant then.
      minSampleMs: 40,
    },
    environment,
    cells: v1.cells.map(upgradeCell),
  };
}
