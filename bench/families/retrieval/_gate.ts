// The family's correctness gate: every ranking well formed, and a method's top-10 and top-100
// equal its reference's (doc numbers identical, scores within the method's stated tolerance)
// on the queries the reference checks. Exact dynamic pruning (MaxScore, WAND, Block-Max WAND)
// must equal term-at-a-time accumulation on every evaluated query, or the cell gets no latency.
import type { CheckResult } from "../../plugin.ts";
import type { Ranking, ReferenceSearch } from "./_interface.ts";

/** Depth of the timed queries (the speed bar is stated at k = 10). */
export const TIMED_K = 10;
/** Depth of the scored run (Recall@100 needs 100). */
export const EVAL_K = 100;

/**
 * Whether `a` equals the reference `b` to depth k: scores within `tolerance` position by
 * position and the same doc numbers; with a tolerance, two documents may trade places when their
 * scores are within it (a near-tie the reference's arithmetic may order otherwise).
 *
 * @example
 * ```ts
 * import { sameRanking } from "./mod.ts";
 * const r = { docs: Int32Array.of(3, 1), scores: Float64Array.of(2, 1), postingsScored: 0 };
 * sameRanking(r, r, { k: 10, tolerance: 0 }); // true
 * ```
 */
export function sameRanking(
  a: Ranking,
  b: Ranking,
  options: { k: number; tolerance: number },
): boolean {
  const { k, tolerance } = options;
  const n = Math.min(k, b.docs.length);
  if (Math.min(k, a.docs.length) !== n) return false;
  for (let i = 0; i < n; i++) {
    if (Math.abs(a.scores[i] - b.scores[i]) > tolerance) return false;
    if (a.docs[i] === b.docs[i]) continue;
    if (tolerance === 0) return false;
    const j = b.docs.indexOf(a.docs[i]);
    const near = j >= 0
      ? Math.abs(b.scores[j] - a.scores[i]) <= tolerance
      : Math.abs(a.scores[i] - b.scores[n - 1]) <= tolerance;
    if (!near) return false;
  }
  return true;
}

/**
 * Whether a ranking is well formed: at most k doc numbers, each in range and distinct, scores
 * finite and not increasing.
 */
export function wellFormedRanking(r: Ranking, options: { k: number; numDocs: number }): boolean {
  const { k, numDocs } = options;
  if (r.docs.length > k || r.docs.length !== r.scores.length) return false;
  const seen = new Set<number>();
  for (let i = 0; i < r.docs.length; i++) {
    const d = r.docs[i];
    if (!Number.isInteger(d) || d < 0 || d >= numDocs || seen.has(d)) return false;
    seen.add(d);
    if (!Number.isFinite(r.scores[i])) return false;
    if (i > 0 && r.scores[i] > r.scores[i - 1]) return false;
  }
  return true;
}

/** What {@link checkRankings} compares. */
export interface RankingCheckOptions {
  /** The evaluated queries, in order. */
  queries: readonly { id: string; text: string }[];
  /** The method's answer to each query at {@link EVAL_K}. */
  rankings: readonly Ranking[];
  /**
   * The method's answer at {@link TIMED_K} to query i (through its batch path when it has one),
   * asked only for the queries the reference checks.
   */
  top10: (i: number) => Ranking;
  /** Documents in the corpus. */
  numDocs: number;
  /** The method's reference, or null (peer libraries): then only well-formedness is checked. */
  reference: ReferenceSearch | null;
}

/** The gate's verdict and what it measured on the way. */
export interface RankingCheck {
  check: CheckResult;
  /** Queries compared with the reference. */
  checked: number;
  /** Postings the method scored at {@link TIMED_K} over the checked queries. */
  postings: number;
  /** Postings the reference scored at {@link EVAL_K} over the same queries (the FLOPs base). */
  referencePostings: number;
  /** The reference's rankings of the checked queries, in order. */
  references: Ranking[];
}

/**
 * The gate: every ranking well formed; on the first `reference.maxQueries` queries (all when
 * null) the top-10 and top-100 equal the reference's.
 *
 * @param options the queries, the method's rankings and its reference
 * @returns the check (passed or the reasons) and the postings counts of both sides
 */
export function checkRankings(options: RankingCheckOptions): RankingCheck {
  const { queries, rankings, reference: ref, numDocs } = options;
  const reasons: string[] = [];
  const references: Ranking[] = [];
  let checked = 0;
  let mismatches = 0;
  let postings = 0;
  let referencePostings = 0;
  const limit = ref?.maxQueries ?? queries.length;
  for (let i = 0; i < queries.length; i++) {
    if (!wellFormedRanking(rankings[i], { k: EVAL_K, numDocs })) {
      reasons.push(`query ${queries[i].id}: ranking is not well formed`);
      break;
    }
    if (!ref || i >= limit) continue;
    const top10 = options.top10(i);
    const expected = ref.search(queries[i].text, EVAL_K);
    references.push(expected);
    postings += top10.postingsScored;
    referencePostings += expected.postingsScored;
    checked++;
    const tolerance = ref.scoreTolerance;
    if (
      !sameRanking(rankings[i], expected, { k: EVAL_K, tolerance }) ||
      !sameRanking(top10, expected, { k: TIMED_K, tolerance })
    ) {
      if (mismatches++ === 0) {
        reasons.push(
          `query ${queries[i].id}: top-k differs from the reference (${ref.description})`,
        );
      }
    }
  }
  if (mismatches > 1) reasons.push(`${mismatches} queries differ in all`);
  const passed = reasons.length === 0;
  const n = queries.length;
  return {
    check: {
      passed,
      description: passed
        ? ref
          ? `top-${TIMED_K} and top-${EVAL_K} equal the reference (${ref.description}) on ${checked} of ${n} test queries, ties by doc number; every ranking well formed`
          : `no reference for this method: every ranking of the ${n} test queries is well formed (doc numbers in range, no duplicates, scores not increasing)`
        : reasons.join("; "),
      maxAbsError: null,
      tolerance: ref ? `doc numbers identical, |Δscore| ≤ ${ref.scoreTolerance}` : "none",
    },
    checked,
    postings,
    referencePostings,
    references,
  };
}
