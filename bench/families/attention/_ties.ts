// The other selections a near-tie allows: where a method keeps the best `keep` of some scores and
// the boundary falls on a near-tie, float rounding on another device may keep the other side of
// it. The gate accepts a GPU row that matches any of these (AttentionMethod.tieAlternatives).
import type { BlockGeometry, BoundaryOptions } from "./_block_sparse.ts";

/** At most this many alternatives per boundary: more near-tied pairs are left undecided. */
export const MAX_TIE_ALTERNATIVES = 16;

/** Whether two candidates, one kept and one left out (by id), are a near-tie. */
export type NearTie = (inside: number, outside: number) => boolean;

/**
 * A near-tie test on `scores[id]` relative to the larger magnitude: `inside − outside ≤ gap ·
 * max(|inside|, |outside|, 1e-30)`, as `topBoundaryIsNearTie` decides.
 */
export function relativeNearTie(scores: ArrayLike<number>, gap: number): NearTie {
  return (i, o) =>
    scores[i] - scores[o] <= gap * Math.max(Math.abs(scores[i]), Math.abs(scores[o]), 1e-30);
}

/**
 * The top-`keep` choices other than the best `keep` of `order` that differ by one near-tied swap:
 * a kept candidate near-tied with a left-out one trades places with it. `order` lists candidates
 * best first (the method's own order, its tie-break included); `near` compares two of them.
 *
 * @param order candidate ids, best first
 * @param keep how many the method keeps
 * @param options the `near` test of two ids, and `max` alternatives (default
 *   {@link MAX_TIE_ALTERNATIVES})
 * @returns each alternative's kept ids, ascending; none when the boundary is no near-tie
 * @example
 * ```ts
 * import { nearTieSwaps, relativeNearTie } from "./mod.ts";
 * const scores = [5, 3, 3.0000001, 1];
 * // Best first: 0, 2, 1, 3; keep 2 → {0, 2}; 2 and 1 are a near-tie → {0, 1}.
 * nearTieSwaps([0, 2, 1, 3], 2, { near: relativeNearTie(scores, 1e-4) });
 * // [[0, 1]]
 * ```
 */
export function nearTieSwaps(
  order: readonly number[],
  keep: number,
  options: { near: NearTie; max?: number },
): number[][] {
  const { near, max = MAX_TIE_ALTERNATIVES } = options;
  if (keep <= 0 || keep >= order.length) return [];
  const alternatives: number[][] = [];
  // Kept candidates from the boundary up, left-out ones from the boundary down: once a pair is
  // no near-tie, none further from the boundary is either (scores are ordered).
  for (let inside = keep - 1; inside >= 0; inside--) {
    if (!near(order[inside], order[keep])) break;
    for (let outside = keep; outside < order.length; outside++) {
      if (!near(order[inside], order[outside])) break;
      if (alternatives.length === max) return alternatives;
      const kept = order.slice(0, keep);
      kept[inside] = order[outside];
      alternatives.push(kept.sort((a, b) => a - b));
    }
  }
  return alternatives;
}

/**
 * The other block choices a near-tie at a block selection's budget boundary allows (the
 * selection of `chooseTopBlocks`: the own block plus the keep − 1 best others, ties to the lower
 * block; near-tie as `boundaryNearTie` decides it: a gap ≤ relativeGap · |kept score|).
 *
 * @param geometry the selection's block geometry
 * @param qb the query block
 * @param options every visible key block's score, blocks kept (own included), the relative gap
 * @returns each alternative's chosen key blocks, ascending, own block included
 */
export function blockTieAlternatives(
  geometry: BlockGeometry,
  qb: number,
  options: BoundaryOptions,
): Int32Array[] {
  const { scores, keep, relativeGap } = options;
  const own = geometry.own(qb);
  const visible = geometry.visible(qb);
  const others = Array.from({ length: visible }, (_, kb) => kb).filter((kb) => kb !== own)
    .sort((a, b) => scores[b] - scores[a] || a - b);
  const extra = Math.min(visible, Math.max(1, keep)) - 1;
  return nearTieSwaps(others, extra, {
    near: (i, o) => scores[i] - scores[o] <= relativeGap * Math.abs(scores[i]) + 1e-30,
  }).map((kept) => Int32Array.from([own, ...kept]).sort());
}

/**
 * The other choices of `topIndices(scores, keep)` (best first, ties to the lower index, scores
 * at or below −1e38 never) that a near-tie at its boundary allows, relative gap `gap` as
 * `topBoundaryIsNearTie` decides it.
 *
 * @returns each alternative's indices, ascending; none when the boundary is no near-tie
 */
export function topIndicesAlternatives(
  scores: ArrayLike<number>,
  keep: number,
  gap: number,
): Int32Array[] {
  const order = Array.from({ length: scores.length }, (_, j) => j).filter((j) => scores[j] > -1e38)
    .sort((a, b) => scores[b] - scores[a] || a - b);
  return nearTieSwaps(order, keep, { near: relativeNearTie(scores, gap) })
    .map((kept) => Int32Array.from(kept));
}

/**
 * `alternatives` without those equal to `primary` or to an earlier one: where a method's ties are
 * per head, a row that does not see the swapped keys gets its own selection back, which is no
 * alternative (AttentionMethod.tieAlternatives excludes selectKeys' own).
 */
export function otherSelections(primary: Int32Array, alternatives: Int32Array[]): Int32Array[] {
  const seen = new Set([primary.join()]);
  return alternatives.filter((keys) => {
    const id = keys.join();
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}
