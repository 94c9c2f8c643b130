// The attention family's correctness gate, one for the tasks and the tests: a method's GPU
// output, row by row, against softmax attention over the keys its own CPU reference selects, and
// its visited count against the number of those keys. Where a row's selection hinges on a
// near-tie, the row also passes when it matches a selection with the tie broken the other way
// (AttentionMethod.tieAlternatives); a near-tie row matching none is excused, and counted: at
// most MAX_EXCUSED_SHARE of the rows of any head, and of the input, may be. An empty comparison
// fails.
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
  /** Of the rows of each head, and of all rows; default {@link MAX_EXCUSED_SHARE}. */
  maxExcusedShare?: number;
}

/** The gate's verdict on one computation. */
export interface GateVerdict {
  passed: boolean;
  /** Largest |gpu − cpu| over the compared elements, each row against the selection it matched. */
  maxAbsError: number;
  /** Rows compared. */
  rows: number;
  /** Rows that matched a selection with a near-tie broken the other way, not `selectKeys`'. */
  tieAlternatives: number;
  /** Near-tie rows that matched no candidate selection, excused (capped). */
  excused: number;
  /**
   * Per compared row, the keys the GPU attended: the kernel's own choice where it can be read
   * back (`AttentionResult.selection`), which must then be the candidate its output matched;
   * otherwise the candidate selection (`selectKeys`' or a tie alternative) its output and visited
   * count matched, and for a row matching none, the candidate nearest its output.
   */
  selections: Int32Array[];
  /** What failed, in words (empty when passed). */
  problems: string[];
}

/** One candidate selection of a row held against the GPU's row. */
interface CandidateFit {
  keys: Int32Array;
  visitedOk: boolean;
  maxAbsError: number;
  first?: FirstMismatch;
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
  let tieAlternatives = 0;
  const rowsOfHead = new Map<number, number>();
  const excusedOfHead = new Map<number, number>();
  const selections: Int32Array[] = [];
  let firstMismatch: { at: ScoredRow; mismatch: FirstMismatch } | null = null;
  let firstVisited: { at: ScoredRow; gpu: number; cpu: number } | null = null;
  let firstChoice: { at: ScoredRow; gpu: number; cpu: number } | null = null;
  const sameKeys = (a: Int32Array, b: Int32Array) =>
    a.length === b.length && a.every((k, j) => k === b[j]);
  rows.forEach((at, i) => {
    rowsOfHead.set(at.head, (rowsOfHead.get(at.head) ?? 0) + 1);
    const slot = at.head * queries + at.row;
    const gpuOut = result.out.subarray(slot * d, (slot + 1) * d);
    const fit = (keys: Int32Array, out: ArrayLike<number>): CandidateFit => {
      const cmp = compareWithin(gpuOut, out, ATTENTION_TOLERANCE);
      return {
        keys,
        visitedOk: result.visited[slot] === keys.length,
        maxAbsError: cmp.maxAbsError,
        ...(cmp.first ? { first: cmp.first } : {}),
      };
    };
    const reference = options.reference?.(i) ?? referenceRow(method, problem, at);
    const fits = [fit(reference.keys, reference.out)];
    const matches = (f: CandidateFit) => f.visitedOk && !f.first;
    if (!matches(fits[0])) {
      for (const keys of method.tieAlternatives?.(problem, at.head, at.row) ?? []) {
        fits.push(fit(keys, attendRow(shape, problem.inputs, { ...at, keys }).out));
        if (matches(fits[fits.length - 1])) break;
      }
    }
    const matched = fits.find(matches);
    const chosen = result.selection?.(at.head, at.row);
    if (matched) {
      if (matched !== fits[0]) tieAlternatives++;
      if (chosen && !sameKeys(chosen, matched.keys) && !firstChoice) {
        firstChoice = { at, gpu: chosen.length, cpu: matched.keys.length };
      }
      selections.push(chosen ?? matched.keys);
      if (matched.maxAbsError > maxAbsError) maxAbsError = matched.maxAbsError;
      return;
    }
    // The candidate nearest the GPU's row: a matching visited count first, then the output.
    const nearest = fits.reduce((a, b) =>
      (a.visitedOk !== b.visitedOk ? a.visitedOk : a.maxAbsError <= b.maxAbsError) ? a : b
    );
    selections.push(chosen ?? nearest.keys);
    // A near-tie excuses a row only if what the kernel says it chose explains its output: a
    // kernel attending otherwise than it chose is wrong whatever the tie.
    const explained = !chosen ||
      matches(fit(chosen, attendRow(shape, problem.inputs, { ...at, keys: chosen }).out));
    if (explained && method.ambiguousRow?.(problem, at.head, at.row)) {
      excused++;
      excusedOfHead.set(at.head, (excusedOfHead.get(at.head) ?? 0) + 1);
      return;
    }
    const primary = fits[0];
    if (!primary.visitedOk && !firstVisited) {
      firstVisited = { at, gpu: result.visited[slot], cpu: primary.keys.length };
    }
    if (primary.maxAbsError > maxAbsError) maxAbsError = primary.maxAbsError;
    if (primary.first && !firstMismatch) firstMismatch = { at, mismatch: primary.first };
  });
  if (rows.length === 0) problems.push("no rows were compared");
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
  if (firstChoice) {
    const { at, gpu, cpu } = firstChoice as { at: ScoredRow; gpu: number; cpu: number };
    problems.push(
      `the kernel's read-back choice of keys differs from the selection its output matched (first at head ${at.head}, row ${at.row}: ${gpu} keys vs ${cpu})`,
    );
  }
  const percent = `${maxExcusedShare * 100}%`;
  if (excused > maxExcusedShare * rows.length) {
    problems.push(
      `${excused} of ${rows.length} rows matched no selection of their near-tie and were excused, more than ${percent}`,
    );
  }
  const overHeads = [...excusedOfHead].filter(([head, n]) =>
    n > maxExcusedShare * rowsOfHead.get(head)!
  );
  if (overHeads.length > 0) {
    const [head, n] = overHeads[0];
    problems.push(
      `in ${overHeads.length} head(s) more than ${percent} of the rows were excused as near-ties (head ${head}: ${n} of ${
        rowsOfHead.get(head)
      })`,
    );
  }
  return {
    passed: problems.length === 0,
    maxAbsError,
    rows: rows.length,
    tieAlternatives,
    excused,
    selections,
    problems,
  };
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
