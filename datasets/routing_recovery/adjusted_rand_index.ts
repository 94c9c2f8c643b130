// The adjusted Rand index (Hubert & Arabie, 1985) of two labellings of the same items: how far
// their agreement on pairs of items exceeds what two random labellings with the same cluster sizes
// would show. 1 = the same partition up to relabelling, ≈ 0 = chance, < 0 = worse than chance.

/** n·(n−1)/2: pairs among n items. */
function pairs(n: number): number {
  return n * (n - 1) / 2;
}

/**
 * The adjusted Rand index of a contingency table: `table[i][j]` items in cluster i of the first
 * labelling and cluster j of the second.
 *
 * ARI = (Σᵢⱼ C(nᵢⱼ,2) − Σᵢ C(aᵢ,2)·Σⱼ C(bⱼ,2) / C(n,2)) / (½(Σᵢ C(aᵢ,2) + Σⱼ C(bⱼ,2)) − Σᵢ C(aᵢ,2)·Σⱼ C(bⱼ,2) / C(n,2)),
 * with aᵢ, bⱼ the row and column sums. Where the denominator is 0 (both labellings put every item
 * in one cluster, or every item in its own) the two partitions are equal, and the index is 1.
 *
 * @param table non-negative integer counts, every row of the same length
 * @param copyPairs pairs in the table that are two copies of one item (0 unless resampled)
 * @returns the index, in [−1, 1]
 * @throws {RangeError} for a ragged table, a negative or fractional count, or fewer than 2 items
 * @example
 * ```ts
 * import { adjustedRandFromTable } from "./adjusted_rand_index.ts";
 * adjustedRandFromTable([[2, 0], [0, 3]]); // 1
 * ```
 */
export function adjustedRandFromTable(
  table: readonly (readonly number[])[],
  copyPairs = 0,
): number {
  const cols = table[0]?.length ?? 0;
  const a = new Array<number>(table.length).fill(0), b = new Array<number>(cols).fill(0);
  let index = 0, n = 0;
  table.forEach((row, i) => {
    if (row.length !== cols) {
      throw new RangeError(
        `Cannot compute the adjusted Rand index as every row must have ${cols} columns: row ${i} has ${row.length}`,
      );
    }
    row.forEach((count, j) => {
      if (!Number.isInteger(count) || count < 0) {
        throw new RangeError(
          `Cannot compute the adjusted Rand index as counts must be integers ≥ 0: table[${i}][${j}] is ${count}`,
        );
      }
      index += pairs(count);
      a[i] += count;
      b[j] += count;
      n += count;
    });
  });
  if (n < 2) {
    throw new RangeError(`Cannot compute the adjusted Rand index of ${n} items: need at least 2`);
  }
  // Pairs of two copies of one item (a resample's repeats) agree in both labellings whatever the
  // partitions are, so they are taken out of every pair count.
  const sumA = a.reduce((s, v) => s + pairs(v), 0) - copyPairs;
  const sumB = b.reduce((s, v) => s + pairs(v), 0) - copyPairs;
  index -= copyPairs;
  const distinct = pairs(n) - copyPairs;
  // Every item one item's copies: no pair to compare, as in the equal-partitions case below.
  if (distinct === 0) return 1;
  const expected = sumA * sumB / distinct, max = (sumA + sumB) / 2;
  if (max === expected) return 1;
  return (index - expected) / (max - expected);
}

/**
 * The adjusted Rand index of two labellings of the same items, optionally over a subset of them
 * (`items`: indices, repeats allowed, as a bootstrap resample draws them). Over a resample, pairs
 * of two copies of one item are left out: they agree in any two labellings, and counting them
 * biased resampled indices upward (near 0, an interval that excluded its own estimate).
 *
 * @param truth each item's cluster, integers ≥ 0
 * @param found each item's cluster in the other labelling, integers ≥ −1 (−1 is a cluster too:
 *   the items a routing sent nowhere)
 * @throws {RangeError} when the labellings differ in length or a label is out of range
 * @example
 * ```ts
 * import { adjustedRandIndex } from "./adjusted_rand_index.ts";
 * adjustedRandIndex(Int32Array.from([0, 0, 1, 1]), Int32Array.from([5, 5, 2, 2])); // 1
 * ```
 */
export function adjustedRandIndex(
  truth: Int32Array,
  found: Int32Array,
  items?: ArrayLike<number>,
): number {
  if (truth.length !== found.length) {
    throw new RangeError(
      `Cannot compare labellings of ${truth.length} and ${found.length} items: they must label the same items`,
    );
  }
  let rows = 0, cols = 0;
  for (let i = 0; i < truth.length; i++) {
    if (!(truth[i] >= 0) || !(found[i] >= -1)) {
      throw new RangeError(
        `Cannot compare labellings as item ${i} has labels ${truth[i]} and ${
          found[i]
        }: expected ≥ 0 and ≥ −1`,
      );
    }
    rows = Math.max(rows, truth[i] + 1);
    cols = Math.max(cols, found[i] + 2);
  }
  const table = Array.from({ length: rows }, () => new Array<number>(cols).fill(0));
  const count = items?.length ?? truth.length;
  const copies = items ? new Uint32Array(truth.length) : null;
  let copyPairs = 0;
  for (let s = 0; s < count; s++) {
    const i = items ? items[s] : s;
    table[truth[i]][found[i] + 1]++;
    // The k-th copy of an item pairs with the k−1 before it.
    if (copies) copyPairs += copies[i]++;
  }
  return adjustedRandFromTable(table, copyPairs);
}
