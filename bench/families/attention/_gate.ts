// The attention family's correctness gate, one for the tasks and the tests: a method's GPU
// output, row by row, against softmax attention over the keys its own CPU reference selects, and
// its visited count against the number of those keys. A row that differs is excused when the
// method says its selection hinges on a near-tie, and counted: at most MAX_EXCUSED_SHARE of the
// rows may be.
import type { GpuContext } from "../../gpu/device.ts";
import type { ParamValues } from "../../metadata.ts";
import {
  allFinite,
  ATTENTION_TOLERANCE,
  compareWithin,
  type FirstMismatch,
  MAX_EXCUSED_SHARE,
} from "./_compare.ts";
import {
  type AttentionInputs,
  type AttentionMethod,
  type AttentionProblem,
  type AttentionShape,
  queryCount,
} from "./_interface.ts";
import { attendRow } from "./_reference.ts";
import type { AttentionResult } from "./_run.ts";
import { runOnGpu } from "./_run.ts";
import { randomInputs, TEST_SHAPES } from "./_test_inputs.ts";

/** A query row: head (or slice) and row index. */
export interface ScoredRow {
  head: number;
  row: number;
}

/** The method's CPU reference for one row: the keys it selects and softmax attention over them. */
export interface RowReference {
  keys: Int32Array;
  out: Float64Array;
}

/** Every row of `shape`, head by head. */
export function allRows(shape: AttentionShape): ScoredRow[] {
  const queries = queryCount(shape);
  return Array.from(
    { length: shape.heads * queries },
    (_, i) => ({ head: Math.floor(i / queries), row: i % queries }),
  );
}

/** The CPU reference of one row of a method. */
export function referenceRow<V extends Readonly<ParamValues>>(
  method: AttentionMethod<V>,
  problem: AttentionProblem<AttentionInputs, V>,
  at: ScoredRow,
): RowReference {
  const keys = method.selectKeys(problem, at.head, at.row);
  return {
    keys,
    out: attendRow(problem.shape, problem.inputs, { head: at.head, row: at.row, keys }).out,
  };
}

/** How the gate is run. */
export interface GateOptions {
  /** The rows to compare (default: every row). */
  rows?: ScoredRow[];
  /** The CPU reference of `rows[i]`, when the caller has it already (default: computed). */
  reference?: (i: number) => RowReference;
  /** Default {@link MAX_EXCUSED_SHARE}. */
  maxExcusedShare?: number;
}

/** The gate's verdict on one computation. */
export interface GateVerdict {
  passed: boolean;
  /** Largest |gpu − cpu| over the compared elements. */
  maxAbsError: number;
  /** Rows the gate looked at, and how many differing ones it excused as near-ties. */
  rows: number;
  excused: number;
  /** What failed, in words (empty when passed). */
  problems: string[];
}

/**
 * Checks one computation of `method` against its CPU reference.
 *
 * @param method the method's implementation
 * @param problem shape, host inputs and parameters the computation ran on
 * @param result its output and visited counts (heads × queries rows)
 * @param options which rows, their references, the cap on excused rows
 * @returns the verdict
 */
export function checkAgainstReference<V extends Readonly<ParamValues>>(
  method: AttentionMethod<V>,
  problem: AttentionProblem<AttentionInputs, V>,
  result: AttentionResult,
  options: GateOptions = {},
): GateVerdict {
  const { shape } = problem;
  const d = shape.headDim;
  const queries = queryCount(shape);
  const rows = options.rows ?? allRows(shape);
  const maxExcusedShare = options.maxExcusedShare ?? MAX_EXCUSED_SHARE;
  const problems: string[] = [];
  let maxAbsError = 0;
  let excused = 0;
  let firstMismatch: { at: ScoredRow; mismatch: FirstMismatch } | null = null;
  let firstVisited: { at: ScoredRow; gpu: number; cpu: number } | null = null;
  rows.forEach((at, i) => {
    const reference = options.reference?.(i) ?? referenceRow(method, problem, at);
    const slot = at.head * queries + at.row;
    const visitedOk = result.visited[slot] === reference.keys.length;
    const cmp = compareWithin(
      result.out.subarray(slot * d, (slot + 1) * d),
      reference.out,
      ATTENTION_TOLERANCE,
    );
    // A near-tie excuses a row only where the GPU resolved it otherwise than the CPU.
    if ((!visitedOk || cmp.first) && method.ambiguousRow?.(problem, at.head, at.row)) {
      excused++;
      return;
    }
    if (!visitedOk && !firstVisited) {
      firstVisited = { at, gpu: result.visited[slot], cpu: reference.keys.length };
    }
    if (cmp.maxAbsError > maxAbsError) maxAbsError = cmp.maxAbsError;
    if (cmp.first && !firstMismatch) firstMismatch = { at, mismatch: cmp.first };
  });
  if (!allFinite(result.out)) problems.push("the output holds NaN or Inf");
  if (firstMismatch) {
    const { at, mismatch } = firstMismatch as { at: ScoredRow; mismatch: FirstMismatch };
    problems.push(
      `the output differs from the CPU reference (max |err| ${
        maxAbsError.toExponential(2)
      }; first at head ${at.head}, row ${at.row}, element ${mismatch.index}: ${mismatch.actual} vs ${mismatch.expected})`,
    );
  }
  if (firstVisited) {
    const { at, gpu, cpu } = firstVisited as { at: ScoredRow; gpu: number; cpu: number };
    problems.push(
      `the kernel's visited-key counts differ from the reference selection (first at head ${at.head}, row ${at.row}: ${gpu} vs ${cpu})`,
    );
  }
  if (excused > maxExcusedShare * rows.length) {
    problems.push(
      `${excused} of ${rows.length} rows differed and were excused as near-ties, more than ${
        maxExcusedShare * 100
      }%`,
    );
  }
  return { passed: problems.length === 0, maxAbsError, rows: rows.length, excused, problems };
}

/** What {@link expectMatchesReference} checks a method on. */
export interface ExpectOptions<V> {
  /** Parameter sets, each run on every shape. */
  params: V[];
  /** Default {@link TEST_SHAPES}: prefill and decoding, odd and even, head dims 32 to 128. */
  shapes?: readonly AttentionShape[];
  /** Shape s gets {@link randomInputs} with seed `seedBase + s` (default 100). */
  seedBase?: number;
  /** Default {@link MAX_EXCUSED_SHARE}. */
  maxExcusedShare?: number;
}

/**
 * The GPU-vs-CPU test of a method: runs it with each parameter set on each shape and applies the
 * gate the tasks apply ({@link checkAgainstReference}) to every row.
 *
 * @param gpu the test device
 * @param method the method's implementation
 * @param options parameter sets, shapes, seeds
 * @throws {Error} naming the shape, parameters and what differed, at the first failing run
 * @example
 * ```ts ignore
 * import { expectMatchesReference } from "../../bench/families/attention/mod.ts";
 * await expectMatchesReference(testGpu!, slidingWindowAttention.impl, { params: [{ window: 8 }] });
 * ```
 */
export async function expectMatchesReference<V extends Readonly<ParamValues>>(
  gpu: GpuContext,
  method: AttentionMethod<V>,
  options: ExpectOptions<V>,
): Promise<void> {
  const { shapes = TEST_SHAPES, seedBase = 100 } = options;
  for (const [s, shape] of shapes.entries()) {
    const inputs = randomInputs(shape, seedBase + s);
    for (const params of options.params) {
      const problem = { shape, inputs, params };
      const result = await runOnGpu(gpu, method, problem);
      const verdict = checkAgainstReference(method, problem, result, {
        maxExcusedShare: options.maxExcusedShare,
      });
      if (!verdict.passed) {
        throw new Error(
          `${JSON.stringify(shape)} ${JSON.stringify(params)}: ${verdict.problems.join("; ")}`,
        );
      }
    }
  }
}
