// The Pareto frontier of quality against speed-up: the points no other point beats on both.

/** A point of the quality/speed-up plane. */
export interface ParetoPoint {
  speedup: number;
  quality: number;
}

/**
 * Indices of the points on the Pareto frontier, ordered by increasing speed-up.
 *
 * A point is on the frontier when no other point has at least its speed-up and at least its
 * quality with one of the two strictly better. Points with non-finite values are ignored.
 *
 * @param points the points
 * @param higherIsBetter whether larger quality values are better
 * @returns indices into `points`
 * @example paretoFrontier([{speedup: 1, quality: 2}, {speedup: 2, quality: 1}], true) // [0, 1]
 */
export function paretoFrontier(points: readonly ParetoPoint[], higherIsBetter: boolean): number[] {
  const sign = higherIsBetter ? 1 : -1;
  const order = points
    .map((p, i) => ({ i, x: p.speedup, y: sign * p.quality }))
    .filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y))
    // Fastest first; among equal speed-ups the best quality first, so it alone can qualify.
    .sort((a, b) => b.x - a.x || b.y - a.y);
  const frontier: number[] = [];
  let bestY = -Infinity;
  for (const p of order) {
    if (p.y > bestY) {
      frontier.push(p.i);
      bestY = p.y;
    }
  }
  return frontier.reverse();
}
