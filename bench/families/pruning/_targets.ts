// What pruning methods share to turn scores into masks: the one `target` parameter every
// training-free method declares (a sparsity or an N:M pattern, as text), and the selections that
// keep the highest-scoring weights per row, per layer, or N of every M along a row's input.
import type { MaskTarget } from "./_interface.ts";

/** The targets a method may be asked for: unstructured sparsities and N:M patterns. */
export const TARGETS = ["50%", "60%", "70%", "80%", "90%", "95%", "2:4", "4:8", "1:4"] as const;

/**
 * The `target` parameter spec of a pruning method; the sweep is what `full` runs on every case
 * (tasks narrow `quick` with their `methodValues`).
 */
export const TARGET_PARAM = {
  type: "enum" as const,
  description:
    "what to prune to: a share of every prunable layer's weights (50%…95%), or N kept of every M consecutive inputs per row (2:4, 4:8, 1:4)",
  values: [...TARGETS],
  default: "50%",
  sweep: ["50%", "60%", "70%", "90%", "95%", "2:4", "4:8"],
};

/**
 * The prune target a `target` parameter value names.
 *
 * @param text e.g. "70%" or "2:4"
 * @returns the target
 * @throws {RangeError} for text that is neither a percentage in [0, 100) nor N:M with 0 < N ≤ M
 * @example
 * ```ts
 * import { parseTarget } from "./mod.ts";
 * import { assertEquals } from "../../../tests/assert.ts";
 * assertEquals(parseTarget("70%"), { pattern: "unstructured", sparsity: 0.7 });
 * assertEquals(parseTarget("2:4"), { pattern: "n:m", n: 2, m: 4 });
 * ```
 */
export function parseTarget(text: string): MaskTarget {
  const percent = text.match(/^(\d+(?:\.\d+)?)%$/);
  if (percent) {
    const sparsity = Number(percent[1]) / 100;
    if (sparsity < 1) return { pattern: "unstructured", sparsity };
  }
  const nm = text.match(/^(\d+):(\d+)$/);
  if (nm) {
    const [n, m] = [Number(nm[1]), Number(nm[2])];
    if (n > 0 && n <= m) return { pattern: "n:m", n, m };
  }
  throw new RangeError(
    `Cannot read the prune target '${text}': expected a sparsity such as '70%' or a pattern such as '2:4'`,
  );
}

/**
 * The sparsity of an unstructured target such as '90%' (as {@link parseTarget} reads it), for
 * methods whose parameter can only be one.
 *
 * @throws {RangeError} for an N:M pattern or text that is no target
 */
export function unstructuredSparsity(text: string): number {
  const target = parseTarget(text);
  if (target.pattern !== "unstructured") {
    throw new RangeError(`'${text}' is not an unstructured sparsity such as '90%'`);
  }
  return target.sparsity;
}

/** A Linear layer's weight scores, row-major [rows × cols] (rows = outputs, cols = inputs). */
export interface ScoreMatrix {
  scores: ArrayLike<number>;
  rows: number;
  cols: number;
}

/** How many of `total` weights a sparsity keeps: round(total · (1 − sparsity)). */
export function keptCount(total: number, sparsity: number): number {
  return Math.round(total * (1 - sparsity));
}

/**
 * Positions of the `keep` highest scores of `values[start … start+length)`, higher first; ties
 * go to the lower index, so a mask is the same on every machine.
 */
function topPositions(values: ArrayLike<number>, start: number, length: number, keep: number) {
  const order = Array.from({ length }, (_, i) => start + i);
  order.sort((a, b) => values[b] - values[a] || a - b);
  return order.slice(0, keep);
}

/**
 * A hard mask (1 kept, 0 pruned) keeping the highest-scoring weights of each row: every row ends
 * at exactly the target (Wanda's per-output comparison group), or, for N:M, N of every M
 * consecutive inputs (a shorter last group keeps at most N).
 *
 * @param matrix the scores
 * @param target what to keep
 * @returns the mask, [rows × cols]
 */
export function rowMask(matrix: ScoreMatrix, target: MaskTarget): Float32Array {
  const { scores, rows, cols } = matrix;
  const mask = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    if (target.pattern === "unstructured") {
      for (const i of topPositions(scores, r * cols, cols, keptCount(cols, target.sparsity))) {
        mask[i] = 1;
      }
    } else {
      for (let g = 0; g < cols; g += target.m) {
        const width = Math.min(target.m, cols - g);
        for (const i of topPositions(scores, r * cols + g, width, Math.min(target.n, width))) {
          mask[i] = 1;
        }
      }
    }
  }
  return mask;
}

/**
 * A hard mask keeping the highest scores over a whole layer (unstructured only): the layer ends
 * at the target, rows may differ.
 *
 * @throws {RangeError} for an N:M target, which is per row by definition
 */
export function layerMask(matrix: ScoreMatrix, sparsity: number): Float32Array {
  const total = matrix.rows * matrix.cols;
  const mask = new Float32Array(total);
  for (const i of topPositions(matrix.scores, 0, total, keptCount(total, sparsity))) mask[i] = 1;
  return mask;
}

/**
 * Hard masks keeping the highest scores over several layers together (global magnitude): the
 * layers together end at the target, each layer at whatever share its scores earn.
 *
 * @param matrices the layers' scores, in any order
 * @param sparsity the share of all their weights to prune
 * @returns one mask per layer, in the same order
 */
export function globalMasks(matrices: readonly ScoreMatrix[], sparsity: number): Float32Array[] {
  const total = matrices.reduce((n, m) => n + m.rows * m.cols, 0);
  const flat = new Float64Array(total);
  let offset = 0;
  for (const m of matrices) {
    for (let i = 0; i < m.rows * m.cols; i++) flat[offset + i] = m.scores[i];
    offset += m.rows * m.cols;
  }
  const keep = topPositions(flat, 0, total, keptCount(total, sparsity));
  const masks = matrices.map((m) => new Float32Array(m.rows * m.cols));
  const starts: number[] = [];
  offset = 0;
  for (const m of matrices) {
    starts.push(offset);
    offset += m.rows * m.cols;
  }
  for (const i of keep) {
    let layer = starts.length - 1;
    while (starts[layer] > i) layer--;
    masks[layer][i - starts[layer]] = 1;
  }
  return masks;
}

/**
 * The N:M pattern a sparse-training method's `pattern` parameter names (its enum holds only N:M
 * values, so anything else is a programming error, reported as parseTarget does).
 *
 * @example
 * ```ts
 * import { parseNmPattern } from "./mod.ts";
 * import { assertEquals } from "../../../tests/assert.ts";
 * assertEquals(parseNmPattern("1:8"), { n: 1, m: 8 });
 * ```
 */
export function parseNmPattern(text: string): { n: number; m: number } {
  const target = parseTarget(text);
  if (target.pattern !== "n:m") {
    throw new RangeError(`Cannot read '${text}' as an N:M pattern: expected e.g. '2:4'`);
  }
  return { n: target.n, m: target.m };
}
