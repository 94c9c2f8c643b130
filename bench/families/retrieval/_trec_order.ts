// The order trec_eval scores a run in. It ignores the rank column and sorts each query's lines by
// score, descending, then ties by document id, descending (strcmp on the docno). Every ranking is
// put in that order before it is scored or exported, so a run scored by trec_eval gives the
// leaderboard's figure exactly, whatever order a method breaks its own ties in.
import type { Ranking } from "./_interface.ts";

/** Byte order of two ASCII/UTF-8 docnos, as C's strcmp compares them (code points, not UTF-16). */
function compareDocno(a: string, b: string): number {
  if (a === b) return 0;
  const x = [...a];
  const y = [...b];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = x[i].codePointAt(0)! - y[i].codePointAt(0)!;
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

/**
 * The ranking re-ordered as trec_eval reads it: score descending, ties by docno descending.
 * Only ties move; the documents and their scores stay the method's.
 *
 * @param ranking a method's ranking (doc numbers and scores, best first)
 * @param ids the corpus's document ids (docnos), indexed by doc number
 * @returns a new ranking in trec_eval's order (the same object when no two scores tie)
 * @example
 * ```ts
 * import { trecEvalOrder } from "./mod.ts";
 * const r = { docs: Int32Array.of(0, 1), scores: Float64Array.of(2, 2), postingsScored: 0 };
 * Array.from(trecEvalOrder(r, ["d0", "d1"]).docs); // [1, 0]: "d1" > "d0"
 * ```
 */
export function trecEvalOrder(ranking: Ranking, ids: readonly string[]): Ranking {
  const { docs, scores } = ranking;
  let tied = false;
  for (let i = 1; i < docs.length && !tied; i++) tied = scores[i] === scores[i - 1];
  if (!tied && isDescending(scores)) return ranking;
  const order = Array.from({ length: docs.length }, (_, i) => i);
  order.sort((a, b) => scores[b] - scores[a] || compareDocno(ids[docs[b]], ids[docs[a]]));
  return {
    docs: Int32Array.from(order, (i) => docs[i]),
    scores: Float64Array.from(order, (i) => scores[i]),
    postingsScored: ranking.postingsScored,
  };
}

function isDescending(scores: Float64Array): boolean {
  for (let i = 1; i < scores.length; i++) if (scores[i] > scores[i - 1]) return false;
  return true;
}
