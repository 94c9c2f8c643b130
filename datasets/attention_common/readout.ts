// Scoring by readout, for tasks where each scored query has one right key (a needle, a recalled
// pair): which key dominated the output, whether the method kept the right key at all, and the
// dense attention mass on what it kept.
import {
  type AttentionInputs,
  type AttentionShape,
  queryOffset,
} from "../../methods/attention/interface.ts";
import { attendRow, denseKeys } from "../../methods/attention/reference.ts";
import type { RowReference, ScoredRow } from "./attention_case.ts";

/** Which key dominates an attention output: argmax over visible keys j of o · v_j. */
export function readOut(
  out: ArrayLike<number>,
  inputs: AttentionInputs,
  shape: AttentionShape,
  head: number,
  row: number,
): number {
  const d = shape.headDim;
  const last = shape.causal ? queryOffset(shape) + row : shape.seq - 1;
  let best = -1;
  let bestScore = -Infinity;
  for (let j = 0; j <= last; j++) {
    const off = (head * shape.seq + j) * d;
    let dot = 0;
    for (let i = 0; i < d; i++) dot += out[i] * inputs.v[off + i];
    if (dot > bestScore) [best, bestScore] = [j, dot];
  }
  return best;
}

/**
 * A scorer for `prepareAttentionCase`: per scored row, the right key is `answers[i]`.
 *
 * @returns accuracy (the output reads out as the right key), kept (the method attends to the
 *   right key) and mass_recall, under the names the task gives them
 */
export function readoutScorer(
  inputs: AttentionInputs,
  shape: AttentionShape,
  rows: ScoredRow[],
  answers: number[],
  names: { accuracy: string; kept: string },
): (rowOut: (i: number) => ArrayLike<number>, reference: RowReference[]) => Record<string, number> {
  const denseWeights = rows.map(({ head, row }) =>
    attendRow(inputs, shape, head, row, denseKeys(shape, row)).weights
  );
  return (rowOut, reference) => {
    let hits = 0;
    let kept = 0;
    let mass = 0;
    rows.forEach(({ head, row }, i) => {
      if (readOut(rowOut(i), inputs, shape, head, row) === answers[i]) hits++;
      if (reference[i].keys.includes(answers[i])) kept++;
      for (const key of reference[i].keys) mass += denseWeights[i][key];
    });
    return {
      [names.accuracy]: hits / rows.length,
      [names.kept]: kept / rows.length,
      mass_recall: mass / rows.length,
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
