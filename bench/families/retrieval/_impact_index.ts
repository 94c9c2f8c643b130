// An inverted index of precomputed impacts (a term's score contribution in a document) with
// per-term and per-block maxima, the structure every exact top-k algorithm here walks.
import type { Postings } from "./_postings.ts";

/** Postings of term t live at `[offsets[t], offsets[t+1])` of `docs` and `impacts`. */
export interface ImpactIndex {
  numDocs: number;
  offsets: Int32Array;
  docs: Int32Array;
  impacts: Float32Array;
  /** Largest impact of each term. */
  maxImpact: Float32Array;
  blockSize: number;
  /** Blocks of term t are `[blockOffsets[t], blockOffsets[t+1])` of `blockLast` / `blockMax`. */
  blockOffsets: Int32Array;
  /** Last doc number of each block. */
  blockLast: Int32Array;
  /** Largest impact in each block. */
  blockMax: Float32Array;
  /** A per-document additive score (query likelihood's length term), scaled per query; or null. */
  docPrior: Float32Array | null;
}

/** A query as the algorithms see it: distinct terms in canonical (ascending id) order. */
export interface WeightedQuery {
  terms: Int32Array;
  weights: Float64Array;
  /** Multiplier of `docPrior` (e.g. the query length); 0 when the index has no prior. */
  priorWeight: number;
}

export const DEFAULT_BLOCK_SIZE = 64;

/** Term-major lists of doc numbers: term t's at `docs[offsets[t] .. offsets[t+1])`, ascending. */
export interface PostingLists {
  numDocs: number;
  offsets: Int32Array;
  docs: Int32Array;
}

/** Options of {@link buildImpactIndex}. */
export interface ImpactIndexOptions {
  /** Postings per block of the block-max index (default {@link DEFAULT_BLOCK_SIZE}). */
  blockSize?: number;
  /** A per-document additive score, scaled per query (query likelihood's length term). */
  docPrior?: Float32Array | null;
}

/**
 * Builds the index from CSR posting lists and one impact per posting.
 *
 * @param lists the posting lists (e.g. a {@link Postings})
 * @param impactOf impact of posting `i` (an index into `lists.docs`) of term `t`
 * @returns the index, with per-term and per-block maxima
 * @throws {RangeError} when an impact is negative or not finite (exact top-k needs neither)
 */
export function buildImpactIndex(
  lists: PostingLists,
  impactOf: (t: number, i: number) => number,
  options: ImpactIndexOptions = {},
): ImpactIndex {
  const { numDocs, offsets, docs } = lists;
  const blockSize = options.blockSize ?? DEFAULT_BLOCK_SIZE;
  const nTerms = offsets.length - 1;
  const impacts = new Float32Array(docs.length);
  const maxImpact = new Float32Array(nTerms);
  const blockOffsets = new Int32Array(nTerms + 1);
  for (let t = 0; t < nTerms; t++) {
    blockOffsets[t + 1] = blockOffsets[t] + Math.ceil((offsets[t + 1] - offsets[t]) / blockSize);
  }
  const blockLast = new Int32Array(blockOffsets[nTerms]);
  const blockMax = new Float32Array(blockOffsets[nTerms]);
  for (let t = 0; t < nTerms; t++) {
    let max = 0;
    let block = blockOffsets[t];
    for (let i = offsets[t]; i < offsets[t + 1]; i++) {
      const v = Math.fround(impactOf(t, i));
      if (!(v >= 0)) {
        throw new RangeError(
          `Impacts must be non-negative and finite for exact top-k: term ${t} has ${v}`,
        );
      }
      impacts[i] = v;
      if (v > max) max = v;
      if (v > blockMax[block]) blockMax[block] = v;
      if ((i - offsets[t]) % blockSize === blockSize - 1 || i === offsets[t + 1] - 1) {
        blockLast[block++] = docs[i];
      }
    }
    maxImpact[t] = max;
  }
  return {
    numDocs,
    offsets,
    docs,
    impacts,
    maxImpact,
    blockSize,
    blockOffsets,
    blockLast,
    blockMax,
    docPrior: options.docPrior ?? null,
  };
}

/** An impact index over term-frequency postings: `impact(t, tf, doc)` per posting. */
export function impactIndexFromPostings(
  postings: Postings,
  impact: (t: number, tf: number, doc: number) => number,
  options: ImpactIndexOptions = {},
): ImpactIndex {
  return buildImpactIndex(
    postings,
    (t, i) => impact(t, postings.tfs[i], postings.docs[i]),
    options,
  );
}

/** Bytes of the index's arrays (doc numbers, impacts, offsets, block maxima, prior). */
export function impactIndexBytes(index: ImpactIndex): number {
  return index.offsets.byteLength + index.docs.byteLength + index.impacts.byteLength +
    index.maxImpact.byteLength + index.blockOffsets.byteLength + index.blockLast.byteLength +
    index.blockMax.byteLength + (index.docPrior?.byteLength ?? 0);
}

/**
 * Slack under the threshold within which a bound still counts as able to beat it: bounds are
 * summed in another order than scores, so they may round a few ulps low.
 */
export function slack(threshold: number): number {
  return 1e-9 * Math.max(1, Math.abs(threshold));
}

/** First index in `[lo, end)` whose doc is ≥ target (galloping, then binary search), or `end`. */
export function seek(docs: Int32Array, lo: number, end: number, target: number): number {
  if (lo >= end || docs[lo] >= target) return lo;
  let step = 1;
  let prev = lo;
  let hi = lo + 1;
  while (hi < end && docs[hi] < target) {
    prev = hi;
    step *= 2;
    hi = lo + step;
  }
  if (hi > end) hi = end;
  // docs[prev] < target; answer in (prev, hi]
  let a = prev + 1;
  let b = hi;
  while (a < b) {
    const mid = (a + b) >>> 1;
    if (docs[mid] < target) a = mid + 1;
    else b = mid;
  }
  return a;
}
