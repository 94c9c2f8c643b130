// The result file format: the one source of truth for what `deno task bench` writes and the
// leaderboard reads. Readers ignore unknown keys; SCHEMA_VERSION changes only on breaking changes
// (files of schema 1 are still read: see schema_v1.ts, which upgrades them in memory).
import { z } from "zod";
import { Family, Fidelity, Profile } from "../metadata.ts";

export const SCHEMA_VERSION = 2;

/** Run ids become file names and URL segments, so they are kept to a safe alphabet. */
export const RunId = z.string().regex(
  /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/,
  "run ids use letters, digits, '.', '_' and '-'",
);

export const ParamValues = z.record(z.string(), z.union([z.number(), z.boolean(), z.string()]));

/** A 95% interval [low, high]. */
export const Interval = z.tuple([z.number(), z.number()]);

export const Summary = z.object({
  n: z.number().int().min(1),
  min: z.number(),
  max: z.number(),
  p50: z.number(),
  p95: z.number(),
  mean: z.number(),
  sd: z.number().min(0),
  /**
   * 95% percentile-bootstrap interval of the median (seeded): inside [min, max], never negative.
   * Null only in a file upgraded from schema 1, which kept no samples.
   */
  p50Ci95: Interval.nullable(),
  /** Every timed sample, per unit of work, in the order taken (empty only in an upgraded file). */
  samples: z.array(z.number()),
});

/** How fine a clock was, and how long the timed samples were measured against it. */
export const TimerFigures = z.object({
  /**
   * The smallest step the clock showed: for wall time the least positive difference of
   * consecutive `performance.now()` readings, for kernel time the greatest common step of the raw
   * timestamp deltas of this cell's samples. Null where it was not measured (upgraded files).
   */
  resolutionMs: z.number().positive().nullable(),
  /** The shortest whole timed sample (all its dispatches), in steps of `resolutionMs`. */
  minSampleSteps: z.number().nullable(),
});

export const Latency = z.object({
  /** Which clock the headline figures come from: GPU timestamp queries, or submit-to-done wall time. */
  source: z.enum(["gpu-timestamp", "wall"]),
  unit: z.literal("ms"),
  /** Dispatches of the kernel in one submit (the most any sample used); figures are per dispatch. */
  repsPerSample: z.number().int().min(1),
  kernel: Summary.nullable(),
  wall: Summary,
  /** Dispatches in each sample, parallel to the summaries' `samples` (empty in upgraded files). */
  reps: z.array(z.number().int().min(1)),
  /** The interleaved round of its case each sample was taken in, parallel to `samples`. */
  rounds: z.array(z.number().int().min(0)),
  /**
   * Which interleaved sampling the rounds belong to (one per case per invocation, so a cell
   * finished by `--resume` never pairs with rounds of another invocation). Null in upgraded files.
   */
  sampledIn: z.string().nullable(),
  timer: z.object({ wall: TimerFigures, kernel: TimerFigures.nullable() }),
  /**
   * Whether adaptive sampling reached its cap before the median's 95% interval came within the
   * target (±3%): the latency is real but less certain than the rest. Null in upgraded files.
   */
  noisy: z.boolean().nullable(),
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
  /** Only when the run opted in (`SPARSEBENCH_RECORD_HOSTNAME=1`): public files carry none. */
  hostname: z.string().optional(),
  gpu: Gpu.nullable(),
  /** Why there is no GPU, when there is none. */
  gpuUnavailableReason: z.string().nullable(),
  git: z.object({ commit: z.string().nullable(), dirty: z.boolean().nullable() }),
});

export const Check = z.object({
  passed: z.boolean(),
  description: z.string(),
  maxAbsError: z.number().nullable(),
  tolerance: z.string(),
});

export const Sparsity = z.object({
  nominalDensity: z.number().nullable(),
  realizedDensity: z.number().nullable(),
  flopsRatio: z.number().nullable(),
  /**
   * What executed the work, where a task runs it in several formats (e.g. "csr", or a model's
   * per-layer formats "csr,csr,dense"): cells of one case with the same density and FLOPs but
   * different kernels are not expected to share a speed-up.
   */
  kernel: z.string().optional(),
});

export const Setup = z.object({
  totalMs: z.number(),
  compileMs: z.number().nullable(),
  uploadMs: z.number().nullable(),
  /** The first (cold) dispatch, which carries lazy shader compilation on some adapters. */
  firstRunMs: z.number().nullable(),
});

/**
 * Latency of the task's reference method (same case, same run) over this cell's, with a 95%
 * paired-bootstrap interval over the interleaved rounds both were timed in.
 */
export const Speedup = z.object({
  /** median(reference) / median(this cell) over the paired rounds. */
  value: z.number().positive(),
  /** Null only in a file upgraded from schema 1, which kept no samples to pair. */
  ci95: Interval.nullable(),
  /** The clock both figures come from (wall when the two cells were timed by different clocks). */
  clock: z.enum(["gpu-timestamp", "wall"]),
  /** Rounds in which both cells were timed. */
  pairs: z.number().int().min(0),
});

/**
 * How a method's budget was tuned for its cell, when the case asks every method for one realized
 * density (an attention case's `targetDensity`): the knob, the value chosen, and the density it
 * gave on the rows the tuning evaluated (the timed run's own is `sparsity.realizedDensity`).
 */
export const Tuning = z.object({
  /** The parameter tuned; the cell's `method.params` hold the value it ran at. */
  param: z.string(),
  value: z.number(),
  targetDensity: z.number().positive(),
  /** Relative tolerance the tuned density had to meet: |achieved / target − 1| ≤ tolerance. */
  tolerance: z.number().positive(),
  /** Density of the method's CPU reference selection at `value` on the rows evaluated. */
  achievedDensity: z.number().min(0),
  /** Query rows the tuning evaluated the selection on. */
  rows: z.number().int().min(1),
  /** Evaluations of the selection over those rows, and their time (outside any timed region). */
  evaluations: z.number().int().min(1),
  ms: z.number().min(0),
}).strict();

const CellCommon = {
  /** Stable key of (task, case, method, params): what `--resume` matches on. */
  key: z.string(),
  task: z.object({
    id: z.string(),
    version: z.string(),
    family: Family,
    case: ParamValues,
    /** The case for people, e.g. `docs=all,batch=50` (see ParamSpec valueLabels). */
    caseLabel: z.string(),
    datasetId: z.string(),
    /** sha256 of the exact input this cell ran on (null when its case could not be prepared). */
    datasetSha256: z.string().nullable(),
    /** Set when the data differs from what the task names (e.g. a substituted source). */
    datasetNote: z.string().optional(),
  }),
  method: z.object({
    id: z.string(),
    version: z.string(),
    title: z.string(),
    /**
     * How faithful the method is to its paper, as it declared at run time (faithful, simplified,
     * stand-in, oracle, peer, baseline; see MethodMeta). Absent in files written before methods
     * declared it: readers then take the catalog's label, or show none.
     */
    fidelity: Fidelity.optional(),
    params: ParamValues,
  }),
  isReference: z.boolean(),
  /** Present when the method's budget was tuned to the case's target density. */
  tuning: Tuning.optional(),
  mainMetric: z.object({ name: z.string(), higherIsBetter: z.boolean() }),
  metrics: z.record(z.string(), z.number()),
  startedAt: z.string(),
  endedAt: z.string(),
  /** In a merged run, the shard (1-based) the cell ran in: see the run's `shards`. */
  shard: z.number().int().min(1).optional(),
};

/** A cell that ran, passed its correctness check and was timed. */
export const OkCell = z.object({
  ...CellCommon,
  status: z.literal("ok"),
  error: z.null(),
  check: Check,
  latency: Latency,
  speedup: Speedup.nullable(),
  /**
   * The same figure against the fastest dense engine measured in this case (the reference or a
   * baseline or peer that computes every pair, e.g. onnxruntime-web), naming it: a sparse method
   * fast against a weak baseline may be slower than the dense engine a user would pick. Absent
   * where the case has no ok dense engine, and in files written before it was computed.
   */
  speedupVsFastestDense: Speedup.extend({ method: z.string() }).optional(),
  setup: Setup,
  sparsity: Sparsity,
}).refine((c) => c.check.passed, {
  message: "an ok cell's correctness check passed",
  path: ["check"],
});

function unfinished<S extends "failed" | "timeout" | "skipped">(status: S) {
  return z.object({
    ...CellCommon,
    status: z.literal(status),
    /** Why: the error, the failed check, the timeout, or what the machine lacks. */
    error: z.string().min(1),
    /** The check's verdict when the cell got that far (a failed check is a failed cell). */
    check: Check.nullable(),
    latency: z.null(),
    speedup: z.null(),
    setup: Setup.nullable(),
    sparsity: Sparsity.nullable(),
  });
}

export const FailedCell = unfinished("failed");
export const TimeoutCell = unfinished("timeout");
/** Skipped: what the cell needs is not on this machine; metrics may come from a CPU reference. */
export const SkippedCell = unfinished("skipped");

export const Cell = z.discriminatedUnion("status", [OkCell, FailedCell, TimeoutCell, SkippedCell]);

export const RunOptions = z.object({
  families: z.array(z.string()),
  methods: z.array(z.string()),
  tasks: z.array(z.string()),
  params: z.record(z.string(), z.array(z.union([z.number(), z.boolean(), z.string()]))),
  warmup: z.number().int().min(0),
  /** Least timed samples of a cell (adaptive sampling then goes on to `maxRuns`). */
  runs: z.number().int().min(1),
  /** Most timed samples of a cell. */
  maxRuns: z.number().int().min(1),
  /**
   * Half-width of the median's 95% interval, relative to the median, at which a cell's sampling
   * stops. Null in upgraded schema-1 files (fixed sample counts).
   */
  targetRelativeHalfWidth: z.number().positive().nullable(),
  /** Time one case's timed rounds may take in all before every cell stops where it is. */
  samplingBudgetMs: z.number().min(0).nullable(),
  /** Work a timed GPU sample carried at least (dispatches repeated within a submit). */
  minSampleMs: z.number().positive(),
  timeLimitMs: z.number().min(1),
  /**
   * Set when the run is one part of a sharded plan (`--shard index/count`): `planHash`
   * fingerprints the whole split, so shards planned from different inputs cannot be merged.
   */
  shard: z.object({
    index: z.number().int().min(1),
    count: z.number().int().min(1),
    planHash: z.string(),
    /** The cases (task|case key) this shard was given, so `--resume` runs the same ones. */
    cases: z.array(z.string()),
  }).nullable().optional(),
});

/** One shard of a merged run: where and when it ran (`deno task merge`). */
export const ShardRecord = z.object({
  index: z.number().int().min(1),
  count: z.number().int().min(1),
  runId: RunId,
  status: z.enum(["running", "complete", "interrupted"]),
  startedAt: z.string(),
  endedAt: z.string().nullable(),
  environment: Environment,
});

/** The browser of a run from the runner page: no user-agent string, nothing about the person. */
export const BrowserClient = z.object({
  /** The browser's brand, e.g. "Chrome", "Firefox", "Safari". */
  name: z.string().max(40),
  majorVersion: z.number().int().min(0),
  /** linux, windows, macos, android, ios, chromeos or unknown. */
  osFamily: z.string().max(20),
  /** Whether the page was cross-origin isolated (finer performance.now()). */
  crossOriginIsolated: z.boolean(),
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
  /**
   * Where it was measured: `deno task bench` ("cli"; also when absent, as in every file written
   * before browser runs) or the runner page in a visitor's browser ("browser").
   */
  source: z.enum(["cli", "browser"]).optional(),
  /** A browser run's client, coarse on purpose: what the runner page says it sends. */
  browser: BrowserClient.optional(),
  options: RunOptions,
  environment: Environment,
  cells: z.array(Cell),
  /**
   * A merged run's shards, each with its own environment; each cell's `shard` names the one it
   * ran in, so its device is that shard's (the run's `environment` is shard 1's).
   */
  shards: z.array(ShardRecord).optional(),
  /** Set when this object was read from an older file and upgraded in memory. */
  upgradedFrom: z.number().int().optional(),
});

export type Interval = z.infer<typeof Interval>;
export type Summary = z.infer<typeof Summary>;
export type TimerFigures = z.infer<typeof TimerFigures>;
export type Latency = z.infer<typeof Latency>;
export type Environment = z.infer<typeof Environment>;
export type GpuInfo = z.infer<typeof Gpu>;
export type Check = z.infer<typeof Check>;
export type Sparsity = z.infer<typeof Sparsity>;
export type Setup = z.infer<typeof Setup>;
export type Speedup = z.infer<typeof Speedup>;
export type Tuning = z.infer<typeof Tuning>;
export type OkCell = z.infer<typeof OkCell>;
export type Cell = z.infer<typeof Cell>;
export type CellStatus = Cell["status"];
export type RunOptions = z.infer<typeof RunOptions>;
export type RunFile = z.infer<typeof RunFile>;
export type ShardRecord = z.infer<typeof ShardRecord>;
export type BrowserClient = z.infer<typeof BrowserClient>;

/** The JSON Schema of a run file, as published in results/schema.json and /api/schema. */
export function runFileJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(RunFile, { target: "draft-2020-12" }) as Record<string, unknown>,
    $id: "https://sparsebench.dev/schema/run-file.json",
    title: `sparsebench run file (schema version ${SCHEMA_VERSION})`,
  };
}
