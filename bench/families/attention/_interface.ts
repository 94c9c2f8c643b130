// The attention family's contract: what every attention method implements and what every
// attention task may call. Keys and values are heads × seq × headDim, queries and outputs
// heads × queries × headDim, row-major, float32. Prefill has a query per position; decoding has a
// few queries, the last positions, against the whole KV cache.
import type { GpuContext } from "../../gpu/device.ts";
import type { AttentionCalibration, CalibrationRecord } from "./_calibration.ts";
import {
  defineMethod,
  type Method,
  type MethodDefinition,
  type ParamSpecs,
  type ParamValues,
  type ParamValuesOf,
} from "../../metadata.ts";

export interface AttentionShape {
  heads: number;
  /** Keys (the KV cache length when decoding). */
  seq: number;
  headDim: number;
  causal: boolean;
  /** Query rows, the last `queries` positions; absent means one per position (prefill). */
  queries?: number;
  /**
   * Steps of the same heads folded into `heads` (multi-step tasks: denoising or decoding steps
   * with drifting q and k). Slice s·H + h, with H = heads / steps, is head h at step s, steps in
   * order. Absent means 1. Methods without state across steps may ignore it: each slice is then
   * just another head.
   */
  steps?: number;
}

/**
 * Steps folded into the heads of `shape` (1 unless a multi-step task set them).
 *
 * @example
 * ```ts
 * import { stepCount } from "./mod.ts";
 * stepCount({ heads: 8, seq: 64, headDim: 16, causal: false, steps: 4 }); // 4
 * ```
 */
export function stepCount(shape: AttentionShape): number {
  return shape.steps ?? 1;
}

/**
 * Query rows of `shape`: `queries` when decoding, one per position otherwise.
 *
 * @example
 * ```ts
 * import { queryCount } from "./mod.ts";
 * queryCount({ heads: 1, seq: 100, headDim: 16, causal: true, queries: 4 }); // 4
 * ```
 */
export function queryCount(shape: AttentionShape): number {
  return shape.queries ?? shape.seq;
}

/** Position of query row 0: the query rows are the last positions of the sequence. */
export function queryOffset(shape: AttentionShape): number {
  return shape.seq - queryCount(shape);
}

/** Host copies of q, k and v, for CPU references. */
export interface AttentionInputs {
  q: Float32Array;
  k: Float32Array;
  v: Float32Array;
}

/** The same tensors on the GPU. */
export interface AttentionGpuInputs {
  q: GPUBuffer;
  k: GPUBuffer;
  v: GPUBuffer;
}

/**
 * One computation a method is asked for: the shape, the inputs (GPU buffers for `setup`, host
 * arrays for the CPU reference), the method's parameter values and, where the task has them,
 * held-out inputs to the same model for a method to calibrate on (the same set on both paths).
 */
export interface AttentionProblem<I, V = ParamValues> {
  shape: AttentionShape;
  inputs: I;
  params: V;
  /**
   * Inputs of the same model and shape, never the evaluated one, for offline calibration
   * (read them through `heldOutInputs`); absent when the task has none.
   */
  calibration?: AttentionCalibration;
}

/**
 * Where a block-sparse kernel leaves what it chose, read back outside timing: for slice s and
 * query block qb, `counts[s · queryBlocks + qb]` key blocks of `block` keys, listed from
 * `chosen[(s · queryBlocks + qb) · stride]` (u32 each, any order).
 */
export interface KernelBlockChoice {
  block: number;
  stride: number;
  chosen: GPUBuffer;
  counts: GPUBuffer;
}

/**
 * Where a key-mask kernel leaves what it chose, read back outside timing: the masks buffer of
 * `maskLayout(shape, groups)` (per head a column bitmap and a diagonal-offset bitmap, per group a
 * key bitmap), each row's group (`rowGroup`, heads × queries u32) and the local window.
 */
export interface KernelMaskChoice {
  masks: GPUBuffer;
  rowGroup: GPUBuffer;
  groups: number;
  window: number;
}

/**
 * Where a kernel that keeps no block or group list leaves the keys each row attended, written by
 * the attend pass itself: `words` u32 per row, bit j set where the row attended key j; query rows
 * split into bitmaps of `rowsPerBitmap` rows of every head (the last may hold fewer), row `row` of
 * head `head` in `bitmaps[⌊row / rowsPerBitmap⌋]` at word (head · its rows + row mod
 * rowsPerBitmap) · words.
 */
export interface KernelKeyChoice {
  bitmaps: GPUBuffer[];
  words: number;
  rowsPerBitmap: number;
}

/**
 * Where a banded kernel leaves the band each row attended, written by the invocation that
 * attended it: per (head, query row) slot three u32 from `bands[slot · 3]`, `lo`, `hi` and
 * `sinkEnd`; the row attended keys [0, sinkEnd) and [lo, hi].
 */
export interface KernelBandChoice {
  bands: GPUBuffer;
}

/** A method set up for one shape: the timed work and where it leaves its results. */
export interface AttentionKernel {
  /** Records one full attention computation (any number of passes) into `encoder`. */
  encode(encoder: GPUCommandEncoder): void;
  /**
   * For methods that drive their own execution (peer libraries such as onnxruntime-web): one
   * full computation, timed by wall clock instead of `encode`. `finalize` then leaves the last
   * result in `output` and `visited`, outside the timed region.
   */
  run?(): Promise<void>;
  finalize?(): Promise<void>;
  /** heads × queries × headDim float32 output. */
  output: GPUBuffer;
  /** One u32 per (head, query row): how many keys the kernel actually scored for that row. */
  visited: GPUBuffer;
  compileMs: number;
  /**
   * FLOPs spent choosing what to attend to, beyond the attended pairs themselves. One
   * convention for every method, the one `attentionFlops` uses for the attended pairs (which
   * counts q·k and p·v, no softmax): work over the head dimension only — dot products and
   * element-wise arithmetic on q, k, v rows or their pooled or projected forms, 2 per
   * multiply-add, 1 per other element operation. Per-score work (exps, maxima, scaling or
   * comparing a score, sums of scores or of block importances) and integer selection are not
   * counted; a method whose selection does much of it says so in its notes.
   */
  extraFlops: number;
  /** Where the kernel leaves the key blocks it chose, when it chooses blocks on the GPU. */
  blockChoice?: KernelBlockChoice;
  /** Where the kernel leaves the key bitmaps it chose, when it chooses keys on the GPU. */
  maskChoice?: KernelMaskChoice;
  /** Where the kernel leaves a key bitmap per row, when it keeps no block or group list. */
  keyChoice?: KernelKeyChoice;
  /** Where a banded kernel leaves the band each row attended. */
  bandChoice?: KernelBandChoice;
  /**
   * For a kernel that times candidate builds at setup and keeps the fastest: the one it chose
   * (the cell's `sparsity.kernel`) and how long tuning took (`kernel_tune_ms`), outside timing.
   */
  tuning?: { chosen: string; tuneMs: number };
  /**
   * For a method that calibrates offline on held-out inputs (gate training, pattern search)
   * before it is bound: what it used and how long it took (`calibration_ms`, outside timing).
   */
  calibration?: CalibrationRecord;
  dispose(): void;
}

/**
 * What an attention method implements, `V` being its parameter values (typed by its declared
 * specs when it is built with {@link defineAttentionMethod}).
 */
export interface AttentionMethod<V extends Readonly<ParamValues> = ParamValues> {
  /** Uploads nothing itself: compiles its pipelines and binds the task's input buffers. */
  setup(
    gpu: GpuContext,
    problem: AttentionProblem<AttentionGpuInputs, V>,
  ): Promise<AttentionKernel>;
  /**
   * The plain CPU reference of the method's selection: the key indices row `row` of head `head`
   * attends to, ascending. The reference output is softmax attention over exactly these keys.
   */
  selectKeys(problem: AttentionProblem<AttentionInputs, V>, head: number, row: number): Int32Array;
  /**
   * For methods that select by comparing scores: whether this row's selection hinges on a
   * near-tie that float rounding on another device may resolve differently. The correctness
   * check accepts such a row when it matches one of {@link tieAlternatives}, and otherwise
   * excuses it, at most MAX_EXCUSED_SHARE of the rows of a head and of an input; absent means no
   * row is ever ambiguous.
   */
  ambiguousRow?(problem: AttentionProblem<AttentionInputs, V>, head: number, row: number): boolean;
  /**
   * For an ambiguous row: the keys it attends to with its near-tie(s) broken the other way (each
   * ascending, `selectKeys`' own selection not among them), e.g. from `nearTieSwaps`. The gate
   * passes a row whose output and visited count match `selectKeys` or any of these.
   */
  tieAlternatives?(
    problem: AttentionProblem<AttentionInputs, V>,
    head: number,
    row: number,
  ): Int32Array[];
  /** The density the parameters ask for, before any kernel runs: attended pairs / dense pairs. */
  nominalDensity(shape: AttentionShape, params: V): number;
  /**
   * Query–key pairs whose exact score q·k one computation of the method works out, to choose or
   * to attend, each pair once, given the keys each row attended (`visited`, heads × queries
   * rows). Absent means the method scores exactly only what it attends (bounds, pooled,
   * projected or block-representative scores are not exact scores of the pairs they stand for).
   */
  scoredPairs?(shape: AttentionShape, params: V, visited: Uint32Array): number;
  /**
   * The parameter that sets how many keys the method attends (its budget), and which way raising
   * it moves the realized density, so a task can tune it to a target density (`tuneBudget`).
   * Absent means the method has no budget to tune (dense attention, the peers).
   */
  budgetKnob?: BudgetKnob;
}

/** A method's budget parameter and the direction in which raising it moves realized density. */
export interface BudgetKnob {
  /** A parameter the method declares `int` or `number` (checked by methods/attention tests). */
  param: string;
  /** "increasing": a larger value attends more keys (a window, a share); "decreasing": fewer. */
  direction: "increasing" | "decreasing";
}

/**
 * Declares an attention method: its metadata (validated at once) and its implementation, whose
 * hooks receive parameter values typed by `parameters` (`params.window` is a number where
 * `window` is declared an `int`), so no method casts them.
 *
 * @param definition metadata and the {@link AttentionMethod} implementation
 * @returns the frozen method, as the registry lists it
 * @throws {MetadataError} when the metadata does not satisfy the method schema
 * @example
 * ```ts
 * import { defineAttentionMethod, denseKeys } from "./mod.ts";
 * const everyKey = defineAttentionMethod({
 *   id: "every-key",
 *   family: "attention",
 *   title: "Every key",
 *   description: "dense attention's selection, with a parameter it ignores",
 *   paper: { title: "None", year: 2024, link: "https://example.org" },
 *   fidelity: { level: "faithful", reason: "a test fixture" },
 *   version: "1.0.0",
 *   parameters: {
 *     window: { type: "int", description: "unused", default: 8, min: 1, max: 9, sweep: [8] },
 *   },
 *   capabilities: { requires: ["webgpu"], features: ["causal"] },
 *   impl: {
 *     setup: () => Promise.reject(new Error("CPU only")),
 *     selectKeys: ({ shape }, _head, row) => denseKeys(shape, row),
 *     nominalDensity: (_shape, params) => params.window > 0 ? 1 : 0,
 *   },
 * });
 * everyKey.meta.id; // "every-key"
 * ```
 */
export function defineAttentionMethod<P extends ParamSpecs>(
  definition: MethodDefinition<P, AttentionMethod<ParamValuesOf<P>>>,
): Method<AttentionMethod> {
  return defineMethod(definition);
}

/** Query–key pairs dense attention scores in one head. */
export function densePairsPerHead(shape: AttentionShape): number {
  const t = shape.seq;
  const q = queryCount(shape);
  // Causal: row r at position t - q + r sees t - q + r + 1 keys.
  return shape.causal ? q * (t - q) + (q * (q + 1)) / 2 : q * t;
}

/** FLOPs of attention over `pairs` query–key pairs: a q·k dot and a p·v accumulation each. */
export function attentionFlops(pairs: number, headDim: number): number {
  return pairs * 4 * headDim;
}
