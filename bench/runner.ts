// Runs planned cells: setup outside the timed region, warm-up, adaptive interleaved sampling,
// the correctness gate, and a save after every finished cell. A failing cell becomes a row with
// its reason; the run goes on.
import { type CellData, latencyOf, okCell, unfinishedCell } from "./cells.ts";
import type { DumpManifest } from "./dump.ts";
import { writeDumps } from "./dump.ts";
import type { GpuProvider } from "./gpu/device.ts";
import type { Method, Requirement } from "./metadata.ts";
import type { CaseGroup, PlannedCell } from "./plan.ts";
import {
  type PreparedCase,
  type Sample,
  type SampleInfo,
  SkipCase,
  type TaskContext,
  type Trial,
} from "./plugin.ts";
import { hashString } from "./random.ts";
import type { Cell, RunFile } from "./results/schema.ts";
import { applySpeedups } from "./results/speedup.ts";
import { type SampledSeries, sampleInterleaved, type SamplingPolicy } from "./sampling.ts";
import { wallClockResolutionMs } from "./timer_resolution.ts";
import { TimeoutError, withTimeout } from "./timeout.ts";

export interface RunnerHooks {
  /** Called before a cell's work starts (index counts cells of the whole plan). */
  onCellStart?(index: number, total: number, cell: PlannedCell): void;
  /** Called once a cell's row is recorded and saved. */
  onCellDone?(index: number, total: number, cell: Cell): void;
}

/** Persists the run (atomically) after each finished cell. */
export type SaveRun = (run: RunFile) => Promise<void>;

/** Everything {@link runCells} needs besides the run it fills. */
export interface RunCellsOptions {
  groups: readonly CaseGroup[];
  gpu: GpuProvider;
  sampling: SamplingPolicy;
  /** Longest any one step of a cell (setup, a sample, the check) may take. */
  timeLimitMs: number;
  /** Folder for `--dump`, or null. */
  dumpDir: string | null;
  save: SaveRun;
  hooks?: RunnerHooks;
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

function checkSample(sample: Sample): Sample {
  if (
    !Number.isFinite(sample.wallMs) ||
    (sample.kernelMs !== null && !Number.isFinite(sample.kernelMs))
  ) {
    throw new Error(
      `a timed sample is not a finite time (wall ${sample.wallMs}, kernel ${sample.kernelMs})`,
    );
  }
  return sample;
}

interface ActiveTrial {
  planned: PlannedCell;
  trial: Trial;
  startedAt: string;
  setupMs: number;
  readonly isReference: boolean;
  sample(info: SampleInfo): Promise<Sample>;
}

/**
 * Runs every cell of `options.groups` that `run` does not already hold, saving after each one.
 *
 * @param run the run to fill (a resumed run keeps its cells)
 * @param options what to run and how
 * @returns `run`, with every planned cell recorded
 */
export async function runCells(run: RunFile, options: RunCellsOptions): Promise<RunFile> {
  const { groups, gpu, hooks = {} } = options;
  const done = new Set(run.cells.map((c) => c.key));
  const total = groups.reduce((n, g) => n + g.cells.length, 0);
  let index = groups.flatMap((g) => g.cells).filter((c) => done.has(c.key)).length;
  const manifest: DumpManifest = {
    runId: run.runId,
    format: "float32, little-endian, row-major",
    cells: [],
  };
  const limit = options.timeLimitMs;
  const wallResolutionMs = wallClockResolutionMs();

  const record = async (cell: Cell) => {
    cell.endedAt = new Date().toISOString();
    run.cells.push(cell);
    applySpeedups(run.cells);
    await options.save(run);
    hooks.onCellDone?.(++index, total, cell);
  };
  const withLoss = (reason: string) => {
    const lost = gpu.takeLostReason();
    return lost ? `${reason} (${lost})` : reason;
  };
  const failure = (planned: PlannedCell, data: CellData, startedAt: string, error: unknown) =>
    unfinishedCell(planned, {
      status: error instanceof SkipCase
        ? "skipped"
        : error instanceof TimeoutError
        ? "timeout"
        : "failed",
      error: withLoss(errorText(error)),
      data,
      startedAt,
    });

  for (const group of groups) {
    const todo = group.cells.filter((c) => !done.has(c.key));
    if (todo.length === 0) continue;
    const context = await gpu.current();
    const available = (r: Requirement) => r === "webgpu" ? context !== null : false;
    const ctx: TaskContext = {
      gpu: context,
      seed: caseSeed(run.seed, group.task.meta.id, group.caseKey),
      taskSeed: caseSeed(run.seed, group.task.meta.id, ""),
      profile: run.profile,
      dump: options.dumpDir !== null,
      minSampleMs: options.sampling.minSampleMs,
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
      // Data that is not on this machine skips the case with the reason (SkipCase): no failure.
      for (const planned of todo) {
        hooks.onCellStart?.(index, total, planned);
        await record(failure(planned, { datasetSha256: null }, preparedAt, error));
      }
      continue;
    }
    const data: CellData = {
      datasetSha256: prepared.datasetSha256,
      datasetNote: prepared.datasetNote,
    };

    // Setup of every cell of the case, outside any timed region.
    const active: ActiveTrial[] = [];
    for (const planned of todo) {
      hooks.onCellStart?.(index, total, planned);
      const startedAt = new Date().toISOString();
      const unmet = planned.method.meta.capabilities.requires.filter((r) => !available(r));
      if (unmet.length > 0) {
        let error = `needs ${unmet.join(", ")}: ${
          gpu.unavailableReason ?? "not available"
        }; metrics are from the CPU reference, no latency`;
        let metrics: Record<string, number> = {};
        try {
          metrics = await withTimeout(
            prepared.referenceMetrics(planned.method as Method, planned.params),
            limit,
            "CPU reference",
          );
        } catch (cause) {
          error += ` (CPU reference failed too: ${errorText(cause)})`;
        }
        await record(
          unfinishedCell(planned, { status: "skipped", error, data, startedAt, metrics }),
        );
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
          isReference: planned.isReference,
          sample: async (info) =>
            checkSample(
              await withTimeout(
                trial.sample(info),
                limit,
                `a timed run of ${planned.method.meta.id}`,
              ),
            ),
        });
      } catch (error) {
        await record(failure(planned, data, startedAt, error));
      }
    }

    const sampledIn = crypto.randomUUID().slice(0, 8);
    const series = await sampleInterleaved(active, {
      policy: options.sampling,
      onFailure: async (a, error) => {
        await record(failure(a.planned, data, a.startedAt, error));
        safely(() => a.trial.dispose());
      },
    });

    for (const a of active) {
      const sampled = series.get(a);
      if (!sampled) continue;
      await record(await finishCell(a, { data, sampled, wallResolutionMs, sampledIn }));
      safely(() => a.trial.dispose());
    }
    safely(() => prepared.dispose());
  }
  return run;

  async function finishCell(
    a: ActiveTrial,
    done: {
      data: CellData;
      sampled: SampledSeries;
      wallResolutionMs: number;
      sampledIn: string;
    },
  ): Promise<Cell> {
    const { data, sampled } = done;
    let result;
    try {
      result = await withTimeout(a.trial.finish(), limit, `checking ${a.planned.method.meta.id}`);
    } catch (error) {
      return failure(a.planned, data, a.startedAt, error);
    }
    const setup = {
      totalMs: a.setupMs,
      compileMs: a.trial.setup.compileMs,
      uploadMs: a.trial.setup.uploadMs,
      firstRunMs: sampled.firstRunMs,
    };
    const latency = latencyOf(sampled, {
      wallResolutionMs: done.wallResolutionMs,
      sampledIn: done.sampledIn,
    });
    const metrics = { ...result.metrics };
    const p50 = (latency.kernel ?? latency.wall).p50;
    if (result.flops !== null && p50 > 0) metrics.achieved_gflops = result.flops / (p50 * 1e6);
    const badMetric = Object.entries(metrics).find(([, v]) => !Number.isFinite(v));
    const finite = Object.fromEntries(
      Object.entries(metrics).filter(([, v]) => Number.isFinite(v)),
    );
    if (options.dumpDir && result.dumps.length > 0) {
      await writeDumps(options.dumpDir, manifest, a.planned.key, result.dumps);
    }
    const startedAt = a.startedAt;
    if (!result.check.passed || badMetric) {
      const error = !result.check.passed
        ? `correctness check failed: ${result.check.description}`
        : `metric '${badMetric![0]}' is ${badMetric![1]}`;
      return unfinishedCell(a.planned, {
        status: "failed",
        error,
        data,
        startedAt,
        result,
        setup,
        metrics: finite,
        tuning: a.trial.tuning,
      });
    }
    return okCell(a.planned, {
      data,
      startedAt,
      result,
      metrics: finite,
      setup,
      latency,
      tuning: a.trial.tuning,
    });
  }
}

function safely(fn: () => void): void {
  try {
    fn();
  } catch {
    // Releasing resources of a failed cell must not fail the run.
  }
}
