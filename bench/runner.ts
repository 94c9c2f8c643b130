// Runs planned cells: setup outside the timed region, warm-up, interleaved timed rounds, the
// correctness gate, and a save after every finished cell. A failing cell becomes a row with its
// reason; the run goes on.
import type { GpuProvider } from "./gpu/device.ts";
import type { Method, Requirement } from "./metadata.ts";
import type { CaseGroup, PlannedCell } from "./plan.ts";
import {
  type PreparedCase,
  type Sample,
  SkipCase,
  type TaskContext,
  type Trial,
  type TrialResult,
} from "./plugin.ts";
import { summarize } from "./stats.ts";
import type { Cell, Latency, RunFile } from "./results/schema.ts";
import { applySpeedups } from "./results/speedup.ts";
import { TimeoutError, withTimeout } from "./timeout.ts";
import { hashString } from "./random.ts";
import type { DumpManifest } from "./dump.ts";
import { writeDumps } from "./dump.ts";

export interface RunnerOptions {
  warmup: number;
  runs: number;
  timeLimitMs: number;
  /** Folder for `--dump`, or null. */
  dumpDir: string | null;
}

export interface RunnerHooks {
  /** Called before a cell's work starts (index counts cells of the whole plan). */
  onCellStart?(index: number, total: number, cell: PlannedCell): void;
  /** Called once a cell's row is recorded and saved. */
  onCellDone?(index: number, total: number, cell: Cell): void;
}

/** Persists the run (atomically) after each finished cell. */
export type SaveRun = (run: RunFile) => Promise<void>;

interface ActiveTrial {
  planned: PlannedCell;
  trial: Trial;
  startedAt: string;
  setupMs: number;
  firstRunMs: number | null;
  samples: Sample[];
}

/** The seed of a case's inputs: the same for every method of the case, different across cases. */
export function caseSeed(runSeed: number, taskId: string, caseKey: string): number {
  return hashString(`${taskId}|${caseKey}`, runSeed >>> 0);
}

function errorText(error: unknown): string {
  if (error instanceof Error) {
    return `${error.name === "Error" ? "" : `${error.name}: `}${error.message}`;
  }
  return String(error);
}

function baseCell(
  planned: PlannedCell,
  datasetSha256: string | null,
  startedAt: string,
  datasetNote?: string,
): Cell {
  const { task, method } = planned;
  const main = task.meta.metrics.find((m) => m.name === task.meta.mainMetric)!;
  return {
    key: planned.key,
    task: {
      id: task.meta.id,
      version: task.meta.version,
      family: task.meta.family,
      case: planned.caseParams,
      datasetId: task.meta.dataset.id,
      datasetSha256,
      ...(datasetNote ? { datasetNote } : {}),
    },
    method: {
      id: method.meta.id,
      version: method.meta.version,
      title: method.meta.title,
      params: planned.params,
    },
    isReference: planned.isReference,
    status: "failed",
    error: null,
    check: null,
    mainMetric: { name: main.name, higherIsBetter: main.higherIsBetter },
    metrics: {},
    latency: null,
    speedup: null,
    setup: null,
    sparsity: null,
    startedAt,
    endedAt: new Date().toISOString(),
  };
}

function latencyOf(samples: Sample[]): Latency {
  const kernel = samples.every((s) => s.kernelMs !== null)
    ? summarize(samples.map((s) => s.kernelMs!))
    : null;
  return {
    source: kernel ? "gpu-timestamp" : "wall",
    unit: "ms",
    repsPerSample: samples[samples.length - 1].reps,
    kernel,
    wall: summarize(samples.map((s) => s.wallMs)),
  };
}

function checkSample(sample: Sample): void {
  if (
    !Number.isFinite(sample.wallMs) ||
    (sample.kernelMs !== null && !Number.isFinite(sample.kernelMs))
  ) {
    throw new Error(
      `a timed sample is not a finite time (wall ${sample.wallMs}, kernel ${sample.kernelMs})`,
    );
  }
}

/** Runs every cell of `groups` that `run` does not already hold, saving after each one. */
export async function runCells(
  groups: readonly CaseGroup[],
  run: RunFile,
  gpu: GpuProvider,
  options: RunnerOptions,
  save: SaveRun,
  hooks: RunnerHooks = {},
): Promise<RunFile> {
  const done = new Set(run.cells.map((c) => c.key));
  const total = groups.reduce((n, g) => n + g.cells.length, 0);
  let index = done.size > 0
    ? groups.flatMap((g) => g.cells).filter((c) => done.has(c.key)).length
    : 0;
  const manifest: DumpManifest = {
    runId: run.runId,
    format: "float32, little-endian, row-major",
    cells: [],
  };
  const limit = options.timeLimitMs;

  const record = async (cell: Cell) => {
    cell.endedAt = new Date().toISOString();
    run.cells.push(cell);
    applySpeedups(run.cells);
    await save(run);
    hooks.onCellDone?.(++index, total, cell);
  };
  const withLoss = (reason: string) => {
    const lost = gpu.takeLostReason();
    return lost ? `${reason} (${lost})` : reason;
  };
  const failure = (
    planned: PlannedCell,
    sha: string | null,
    startedAt: string,
    error: unknown,
  ): Cell => ({
    ...baseCell(planned, sha, startedAt),
    status: error instanceof TimeoutError ? "timeout" : "failed",
    error: withLoss(errorText(error)),
  });

  for (const group of groups) {
    const todo = group.cells.filter((c) => !done.has(c.key));
    if (todo.length === 0) continue;
    const context = await gpu.current();
    const available = (r: Requirement) => r === "webgpu" ? context !== null : false;
    const ctx: TaskContext = {
      gpu: context,
      seed: caseSeed(run.seed, group.task.meta.id, group.caseKey),
      profile: run.profile,
      dump: options.dumpDir !== null,
    };

    let prepared: PreparedCase;
    const preparedAt = new Date().toISOString();
    try {
      prepared = await withTimeout(
        group.task.impl.prepare(group.caseParams, ctx),
        limit,
        `preparing ${group.task.meta.id} (${group.caseKey})`,
      );
    } catch (error) {
      for (const planned of todo) {
        hooks.onCellStart?.(index, total, planned);
        const cell = failure(planned, null, preparedAt, error);
        // Data that is not on this machine skips the case with the reason, it is no failure.
        if (error instanceof SkipCase) cell.status = "skipped";
        await record(cell);
      }
      continue;
    }

    // Setup of every cell of the case, outside any timed region.
    const active: ActiveTrial[] = [];
    for (const planned of todo) {
      hooks.onCellStart?.(index, total, planned);
      const startedAt = new Date().toISOString();
      const unmet = planned.method.meta.capabilities.requires.filter((r) => !available(r));
      if (unmet.length > 0) {
        const cell = baseCell(planned, prepared.datasetSha256, startedAt, prepared.datasetNote);
        cell.status = "skipped";
        cell.error = `needs ${unmet.join(", ")}: ${
          gpu.unavailableReason ?? "not available"
        }; metrics are from the CPU reference, no latency`;
        try {
          cell.metrics = await withTimeout(
            prepared.referenceMetrics(planned.method as Method, planned.params),
            limit,
            "CPU reference",
          );
        } catch (error) {
          cell.error += ` (CPU reference failed too: ${errorText(error)})`;
        }
        await record(cell);
        continue;
      }
      const start = performance.now();
      try {
        const trial = await withTimeout(
          prepared.bind(planned.method, planned.params),
          limit,
          `setting up ${planned.method.meta.id}`,
        );
        active.push({
          planned,
          trial,
          startedAt,
          setupMs: performance.now() - start,
          firstRunMs: null,
          samples: [],
        });
      } catch (error) {
        await record(failure(planned, prepared.datasetSha256, startedAt, error));
      }
    }

    // Warm-up (at least one: the first sample also settles repetitions per submit), then timed
    // rounds with the methods interleaved, so drift in the machine hits them all alike.
    const rounds = Math.max(1, options.warmup) + options.runs;
    for (let round = 0; round < rounds; round++) {
      // Rotate who goes first each round, so no method always runs right after the heaviest.
      const order = active.map((_, i) => active[(i + round) % active.length]);
      for (const a of order) {
        try {
          const sample = await withTimeout(
            a.trial.sample(),
            limit,
            `a timed run of ${a.planned.method.meta.id}`,
          );
          checkSample(sample);
          if (a.firstRunMs === null) a.firstRunMs = sample.wallMs * sample.reps;
          if (round >= Math.max(1, options.warmup)) a.samples.push(sample);
        } catch (error) {
          active.splice(active.indexOf(a), 1);
          await record(failure(a.planned, prepared.datasetSha256, a.startedAt, error));
          safely(() => a.trial.dispose());
        }
      }
    }

    for (const a of active) {
      let result: TrialResult;
      try {
        result = await withTimeout(a.trial.finish(), limit, `checking ${a.planned.method.meta.id}`);
      } catch (error) {
        await record(failure(a.planned, prepared.datasetSha256, a.startedAt, error));
        safely(() => a.trial.dispose());
        continue;
      }
      safely(() => a.trial.dispose());
      const cell = baseCell(a.planned, prepared.datasetSha256, a.startedAt, prepared.datasetNote);
      const latency = latencyOf(a.samples);
      const metrics = { ...result.metrics };
      const p50 = (latency.kernel ?? latency.wall).p50;
      if (result.flops !== null && p50 > 0) metrics.achieved_gflops = result.flops / (p50 * 1e6);
      const badMetric = Object.entries(metrics).find(([, v]) => !Number.isFinite(v));
      cell.check = result.check;
      cell.metrics = Object.fromEntries(
        Object.entries(metrics).filter(([, v]) => Number.isFinite(v)),
      );
      cell.sparsity = result.sparsity;
      cell.setup = {
        totalMs: a.setupMs,
        compileMs: a.trial.setup.compileMs,
        uploadMs: a.trial.setup.uploadMs,
        firstRunMs: a.firstRunMs,
      };
      if (!result.check.passed) {
        cell.error = `correctness check failed: ${result.check.description}`;
      } else if (badMetric) {
        cell.error = `metric '${badMetric[0]}' is ${badMetric[1]}`;
      } else {
        cell.status = "ok";
        cell.latency = latency;
      }
      if (options.dumpDir && result.dumps.length > 0) {
        await writeDumps(options.dumpDir, manifest, cell.key, result.dumps);
      }
      await record(cell);
    }
    safely(() => prepared.dispose());
  }
  return run;
}

function safely(fn: () => void): void {
  try {
    fn();
  } catch {
    // Releasing resources of a failed cell must not fail the run.
  }
}
