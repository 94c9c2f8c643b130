// Helpers for the peer libraries: their answers become Rankings, their indexes a byte count.
import type { Ranking } from "./_interface.ts";

/**
 * A ranking from a library's (doc number, score) pairs, cut to k. Libraries order their own
 * results; ties among equal scores are re-broken by doc number so runs are deterministic.
 */
export function rankingFrom(pairs: readonly (readonly [number, number])[], k: number): Ranking {
  const sorted = pairs.slice().sort((a, b) => b[1] - a[1] || a[0] - b[0]).slice(0, k);
  return {
    docs: Int32Array.from(sorted, (p) => p[0]),
    scores: Float64Array.from(sorted, (p) => p[1]),
    postingsScored: 0,
  };
}

/** Words of a query for libraries whose query syntax must not see punctuation. */
export function plainWords(text: string): string[] {
  return text.toLowerCase().split(/[^\p{L}\p{N}]+/u).filter(Boolean);
}

/** UTF-16 bytes of a serialized index: the size the library itself would store. */
export function serializedBytes(json: string): number {
  return 2 * json.length;
}
