// Scoring by readout, for tasks where each scored query has one right key (a needle, a recalled
// pair): which key dominated the output, whether the method kept the right key at all, and the
// dense attention mass on what it kept (the keys the GPU attended, as the gate matched them),
// each averaged over the scored rows with a seeded bootstrap interval over them.
import {
  attendRow,
  type AttentionInputs,
  type AttentionShape,
  denseKeys,
  queryOffset,
  type ScoredRow,
} from "../../bench/families/attention/mod.ts";
import { bootstrapInterval, mean } from "../../bench/stats.ts";

/** Which key dominates an attention output: argmax over visible keys j of o · v_j. */
export function readOut(
  out: ArrayLike<number>,
  inputs: AttentionInputs,
  shape: AttentionShape,
  at: ScoredRow,
): number {
  const d = shape.headDim;
  const last = shape.causal ? queryOffset(shape) + at.row : shape.seq - 1;
  let best = -1;
  let bestScore = -Infinity;
  for (let j = 0; j <= last; j++) {
    const off = (at.head * shape.seq + j) * d;
    let dot = 0;
    for (let i = 0; i < d; i++) dot += out[i] * inputs.v[off + i];
    if (dot > bestScore) [best, bestScore] = [j, dot];
  }
  return best;
}

/** What a readout task scores: its inputs, scored rows and the right key of each. */
export interface ReadoutSpec {
  inputs: AttentionInputs;
  shape: AttentionShape;
  rows: ScoredRow[];
  /** The key `rows[i]` should read out. */
  answers: number[];
  /** The task's names for its accuracy and kept figures. */
  names: { accuracy: string; kept: string };
}

/** A metric's mean over rows and its 95% bootstrap interval, under `name` and `name_ci95_*`. */
function withInterval(name: string, perRow: number[]): Record<string, number> {
  const [low, high] = bootstrapInterval(perRow, mean);
  return { [name]: mean(perRow), [`${name}_ci95_low`]: low, [`${name}_ci95_high`]: high };
}

/**
 * A scorer for `prepareAttentionCase`: per scored row, the right key is `answers[i]`; the keys
 * a row attended are the ones the case hands it (the GPU's selection as the gate matched it).
 *
 * @returns accuracy (the output reads out as the right key) and mass_recall, each with its
 *   `_ci95_low` / `_ci95_high` (seeded bootstrap over the rows), and kept (the method attends to
 *   the right key), under the names the task gives them
 */
export function readoutScorer(
  spec: ReadoutSpec,
): (
  rowOut: (i: number) => ArrayLike<number>,
  rowKeys: (i: number) => Int32Array,
) => Record<string, number> {
  const { inputs, shape, rows, answers, names } = spec;
  const denseWeights = rows.map(({ head, row }) =>
    attendRow(shape, inputs, { head, row, keys: denseKeys(shape, row) }).weights
  );
  return (rowOut, rowKeys) => {
    const hits = rows.map((at, i) => readOut(rowOut(i), inputs, shape, at) === answers[i] ? 1 : 0);
    const kept = rows.filter((_, i) => rowKeys(i).includes(answers[i])).length;
    const mass = rows.map((_, i) => {
      let sum = 0;
      for (const key of rowKeys(i)) sum += denseWeights[i][key];
      return sum;
    });
    return {
      ...withInterval(names.accuracy, hits),
      [names.kept]: kept / rows.length,
      ...withInterval("mass_recall", mass),
    };
  };
}

/**
 * The scored rows of a readout task and the right key of each: every head's query rows, with
 * `answers[head][r]` the key query row r should read out.
 */
export function readoutRows(
  heads: number,
  queryRows: number[],
  answers: number[][],
): { rows: ScoredRow[]; keys: number[] } {
  const rows: ScoredRow[] = [];
  const keys: number[] = [];
  for (let head = 0; head < heads; head++) {
    queryRows.forEach((row, r) => {
      rows.push({ head, row });
      keys.push(answers[head][r]);
    });
  }
  return { rows, keys };
}
