// The attention family's contract: what every attention method implements and what every
// attention task may call. Keys and values are heads × seq × headDim, queries and outputs
// heads × queries × headDim, row-major, float32. Prefill has a query per position; decoding has a
// few queries, the last positions, against the whole KV cache.
import type { GpuContext } from "../../bench/gpu/device.ts";
import type { ParamValues } from "../../bench/metadata.ts";

export interface AttentionShape {
  heads: number;
  /** Keys (the KV cache length when decoding). */
  seq: number;
  headDim: number;
  causal: boolean;
  /** Query rows, the last `queries` positions; absent means one per position (prefill). */
  queries?: number;
  /**
   * Steps of the same heads folded into \`heads\` (multi-step tasks: denoising or decoding steps
   * with drifting q and k). Slice s·H + h, with H = heads / steps, is head h at step s, steps in
   * order. Absent means 1. Methods without state across steps may ignore it: each slice is then
   * just another head.
   */
  steps?: number;
}

/** Steps folded into the heads of \`shape\` (1 unless a multi-step task set them). */
export function stepCount(shape: AttentionShape): number {
  return shape.steps ?? 1;
}

/** Query rows of `shape`. */
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
  /** heads × seq × headDim float32 output. */
  output: GPUBuffer;
  /** One u32 per (head, query row): how many keys the kernel actually scored for that row. */
  visited: GPUBuffer;
  compileMs: number;
  /** FLOPs spent choosing what to attend to, beyond the attended pairs themselves. */
  extraFlops: number;
  dispose(): void;
}

/** What an attention method implements. */
export interface AttentionMethod {
  /** Uploads nothing itself: compiles its pipelines and binds the task's input buffers. */
  setup(
    gpu: GpuContext,
    shape: AttentionShape,
    inputs: AttentionGpuInputs,
    params: ParamValues,
  ): Promise<AttentionKernel>;
  /**
   * The plain CPU reference of the method's selection: the key indices row `row` of head `head`
   * attends to, ascending. The reference output is softmax attention over exactly these keys.
   */
  selectKeys(
    shape: AttentionShape,
    params: ParamValues,
    inputs: AttentionInputs,
    head: number,
    row: number,
  ): Int32Array;
  /**
   * For methods that select by comparing scores: whether this row's selection hinges on a
   * near-tie that float rounding on another device may resolve differently. The correctness
   * check excuses such rows (and says how many); absent means no row is ever ambiguous.
   */
  ambiguousRow?(
    shape: AttentionShape,
    params: ParamValues,
    inputs: AttentionInputs,
    head: number,
    row: number,
  ): boolean;
  /** The density the parameters ask for, before any kernel runs: attended pairs / dense pairs. */
  nominalDensity(shape: AttentionShape, params: ParamValues): number;
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
