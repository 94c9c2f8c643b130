// The contracts between the runner and the tasks it drives. The runner never looks inside a
// family: a task binds a method of its own family and hands back something it can time and score.
import type { GpuContext } from "./gpu/device.ts";
import type { Method, ParamValues, Profile } from "./metadata.ts";
import type { Check, Sparsity, Tuning } from "./results/schema.ts";

/** What a task gets from the run. */
export interface TaskContext {
  /** The run's device, or null when the machine has none. */
  gpu: GpuContext | null;
  /** The seed of this case's inputs (derived from the run seed and the case). */
  seed: number;
  /**
   * A seed the same for every case of the task in one run (derived from the run seed and the
   * task): for inputs that belong to the task, not the case, such as a pruning method's
   * calibration rows, so every case times the same pruned model.
   */
  taskSeed: number;
  profile: Profile;
  /** Whether the run wants check inputs and outputs dumped (`--dump`). */
  dump: boolean;
  /** Work a timed GPU sample should carry at least (pass it to TimedSubmit). */
  minSampleMs: number;
}

/** What the runner tells a trial about the sample it asks for. */
export interface SampleInfo {
  /** A warm-up round's sample: timed like the others, then dropped. */
  warmup: boolean;
}

/** One timed sample, per unit of work: the runner summarizes these. */
export interface Sample {
  wallMs: number;
  /** Device-side time (timestamp queries), when the adapter has them. */
  kernelMs: number | null;
  /** Units of work in the sample (several dispatches per submit for short kernels). */
  reps: number;
  /** The raw timestamp delta of the whole sample in the adapter's ticks (ns), when timed so. */
  kernelTicks?: bigint;
  /** Wall time of an untimed cold run that preceded this sample (first sample only), if any. */
  coldMs?: number;
}

/** A tensor to write under `--dump`: raw little-endian float32 plus its shape. */
export interface DumpTensor {
  name: string;
  shape: number[];
  data: Float32Array;
}

/** A whole file to write under `--dump` as it is, e.g. a pruned model as safetensors. */
export interface DumpFile {
  name: string;
  /** The file name's extension, without the dot, e.g. "safetensors". */
  extension: string;
  /** What the file is, for the manifest, e.g. "safetensors: weights and their masks". */
  format: string;
  bytes: Uint8Array;
}

/** The correctness gate's verdict: the output against the method's own CPU reference. */
export type CheckResult = Check;

export interface TrialResult {
  check: CheckResult;
  metrics: Record<string, number>;
  /** Every figure may be null (not meaningful for the method), the object itself is always there. */
  sparsity: Sparsity;
  /** FLOPs of one unit of work, for the achieved-throughput figure. */
  flops: number | null;
  dumps: (DumpTensor | DumpFile)[];
}

/** A method bound to a prepared case: set up, ready to be timed, then checked. */
export interface Trial {
  setup: { compileMs: number | null; uploadMs: number | null };
  /**
   * Set when the case tuned the method's budget before binding it (a matched-density case): the
   * cell then records the tuning and the parameter value the trial actually ran at.
   */
  tuning?: Tuning;
  /**
   * One unit of timed work. `info.warmup` is true for the warm-up rounds, whose samples the
   * runner drops, so a trial that gathers its own figures while timed (a retrieval task's
   * per-query times) can drop them too.
   */
  sample(info?: SampleInfo): Promise<Sample>;
  /** Reads the output back once, checks it and scores it. */
  finish(): Promise<TrialResult>;
  dispose(): void;
}

/** One case of a task (one shape/mode) with its inputs ready. */
export interface PreparedCase {
  /** sha256 of the exact inputs of this case. */
  datasetSha256: string;
  /** Set when the data differs from what the task's metadata names, e.g. a substituted source. */
  datasetNote?: string;
  bind(method: Method, params: ParamValues): Promise<Trial>;
  /**
   * Quality figures from the method's CPU reference alone, for cells whose method cannot run
   * here (no GPU): they are recorded on the skipped cell, without any latency.
   */
  referenceMetrics(method: Method, params: ParamValues): Promise<Record<string, number>>;
  dispose(): void;
}

/** What a task implements; `V` are its case parameters, typed by its declared specs. */
export interface TaskImpl<V extends Readonly<ParamValues> = ParamValues> {
  prepare(caseParams: V, ctx: TaskContext): Promise<PreparedCase>;
}

/**
 * Thrown by a task's `prepare` when the case cannot run on this machine for a reason that is no
 * fault of any method (a data package is missing or differs from its pin): its cells are recorded
 * as `skipped` with the message, not `failed`.
 */
export class SkipCase extends Error {
  override name = "SkipCase";
}
