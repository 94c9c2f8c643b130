// Building a run's cells, once each, from what happened to them: every status has its own shape
// in the schema (an `ok` cell always has its latency, check and sparsity; the others a reason).
import { paramsLabel } from "./metadata.ts";
import type { PlannedCell } from "./plan.ts";
import type { Sample, TrialResult } from "./plugin.ts";
import type { SampledSeries } from "./sampling.ts";
import { summarize } from "./stats.ts";
import type { Cell, Latency, OkCell, Setup, TimerFigures, Tuning } from "./results/schema.ts";
import { commonTickStep, MIN_SAMPLE_STEPS } from "./timer_resolution.ts";

/** Where a cell's inputs came from: the prepared case's hash and note, when it got that far. */
export interface CellData {
  datasetSha256: string | null;
  datasetNote?: string;
}

function common(planned: PlannedCell, data: CellData, startedAt: string, tuning?: Tuning) {
  const { task, method } = planned;
  // A tuned cell ran at its tuned value: its params say so (its key stays the planned one).
  const params = tuning ? { ...planned.params, [tuning.param]: tuning.value } : planned.params;
  const main = task.meta.metrics.find((m) => m.name === task.meta.mainMetric)!;
  return {
    key: planned.key,
    task: {
      id: task.meta.id,
      version: task.meta.version,
      family: task.meta.family,
      case: planned.caseParams,
      caseLabel: paramsLabel(planned.caseParams, task.meta.parameters),
      datasetId: task.meta.dataset.id,
      datasetSha256: data.datasetSha256,
      ...(data.datasetNote ? { datasetNote: data.datasetNote } : {}),
    },
    method: {
      id: method.meta.id,
      version: method.meta.version,
      title: method.meta.title,
      fidelity: method.meta.fidelity,
      params,
    },
    isReference: planned.isReference,
    ...(tuning ? { tuning } : {}),
    mainMetric: { name: main.name, higherIsBetter: main.higherIsBetter },
    startedAt,
    endedAt: new Date().toISOString(),
  };
}

/** A cell that did not finish: failed, timed out, or skipped, with its reason. */
export function unfinishedCell(
  planned: PlannedCell,
  outcome: {
    status: "failed" | "timeout" | "skipped";
    error: string;
    data: CellData;
    startedAt: string;
    result?: TrialResult;
    setup?: Setup;
    metrics?: Record<string, number>;
    tuning?: Tuning;
  },
): Cell {
  return {
    ...common(planned, outcome.data, outcome.startedAt, outcome.tuning),
    status: outcome.status,
    error: outcome.error,
    check: outcome.result?.check ?? null,
    metrics: outcome.metrics ?? {},
    latency: null,
    speedup: null,
    setup: outcome.setup ?? null,
    sparsity: outcome.result?.sparsity ?? null,
  };
}

/** A cell that passed its check and was timed; its speed-up is set once its baseline is known. */
export function okCell(
  planned: PlannedCell,
  outcome: {
    data: CellData;
    startedAt: string;
    result: TrialResult;
    metrics: Record<string, number>;
    setup: Setup;
    latency: Latency;
    tuning?: Tuning;
  },
): OkCell {
  return {
    ...common(planned, outcome.data, outcome.startedAt, outcome.tuning),
    status: "ok",
    error: null,
    check: outcome.result.check,
    metrics: outcome.metrics,
    latency: outcome.latency,
    speedup: null,
    setup: outcome.setup,
    sparsity: outcome.result.sparsity,
  };
}

function timerFigures(wholeSampleMs: number[], resolutionMs: number | null): TimerFigures {
  return {
    resolutionMs,
    minSampleSteps: resolutionMs === null ? null : Math.min(...wholeSampleMs) / resolutionMs,
  };
}

/**
 * The latency record of a sampled series: summaries of kernel and wall time with their raw
 * samples, the rounds, how fine each clock was, and whether sampling converged.
 *
 * @param series what sampling gathered, at least one sample
 * @param clocks the wall clock's step for this run, and the id of this case's sampling
 */
export function latencyOf(
  series: SampledSeries,
  clocks: { wallResolutionMs: number; sampledIn: string },
): Latency {
  const samples: Sample[] = series.samples;
  const kernel = samples.every((s) => s.kernelMs !== null)
    ? summarize(samples.map((s) => s.kernelMs!))
    : null;
  const ticks = samples.flatMap((s) => s.kernelTicks === undefined ? [] : [s.kernelTicks]);
  const tickStep = commonTickStep(ticks);
  const wall = timerFigures(samples.map((s) => s.wallMs * s.reps), clocks.wallResolutionMs);
  const kernelTimer = kernel
    ? timerFigures(
      samples.map((s) => s.kernelMs! * s.reps),
      tickStep === null ? null : Number(tickStep) / 1e6,
    )
    : null;
  const headlineSteps = (kernelTimer ?? wall).minSampleSteps;
  return {
    source: kernel ? "gpu-timestamp" : "wall",
    unit: "ms",
    repsPerSample: Math.max(...samples.map((s) => s.reps)),
    kernel,
    wall: summarize(samples.map((s) => s.wallMs)),
    reps: samples.map((s) => s.reps),
    rounds: series.rounds,
    sampledIn: clocks.sampledIn,
    timer: { wall, kernel: kernelTimer },
    noisy: !series.converged || (headlineSteps !== null && headlineSteps < MIN_SAMPLE_STEPS),
  };
}
