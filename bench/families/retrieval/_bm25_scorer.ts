// BM25 as Lucene scores it, and the index every BM25 variant of the family builds from it (the
// variants differ only in the exact top-k algorithm that answers).
import type { AnalyzerOptions } from "./_analysis.ts";
import type { Corpus, RetrievalIndex } from "./_interface.ts";
import { type Algorithm, buildLexicalIndex, type Scorer } from "./_lexical_index.ts";
import type { Postings } from "./_postings.ts";

/** Lucene's BM25 idf: ln(1 + (N − df + 0.5) / (df + 0.5)), never negative. */
export function luceneIdf(numDocs: number, df: number): number {
  return Math.log(1 + (numDocs - df + 0.5) / (df + 0.5));
}

/** BM25's two parameters. */
export interface Bm25Options {
  /** Term-frequency saturation. */
  k1: number;
  /** Document-length normalization. */
  b: number;
}

/**
 * BM25 as Lucene (8+) scores it: idf · tf / (tf + k1 · (1 − b + b · dl / avgdl)), summed over
 * query term occurrences. Lucene drops the constant (k1 + 1) factor, which does not change ranks.
 *
 * @param postings the analysed corpus
 * @param options k1 and b
 * @returns impacts per posting and query-term weights (the query term's count)
 */
export function bm25Scorer(postings: Postings, options: Readonly<Bm25Options>): Scorer {
  const { k1, b } = options;
  const n = postings.numDocs;
  const avg = postings.avgDocLen || 1;
  const idf = Float64Array.from(
    { length: postings.terms.length },
    (_, t) => luceneIdf(n, postings.df(t)),
  );
  const norm = Float64Array.from(postings.docLen, (dl) => k1 * (1 - b + (b * dl) / avg));
  return {
    impact: (t, tf, doc) => (idf[t] * tf) / (tf + norm[doc]),
    queryWeight: (_t, count) => count,
  };
}

/** Options of {@link buildBm25Index}: BM25's and the analyzer's parameters, and the algorithm. */
export interface Bm25IndexOptions extends Bm25Options, AnalyzerOptions {
  algorithm: Algorithm;
  /** Postings per block of the block-max index. */
  blockSize?: number;
}

/**
 * A BM25 index of the corpus answering with one exact top-k algorithm, its reference
 * term-at-a-time accumulation over the same impacts.
 *
 * @param corpus the documents
 * @param options k1, b, stem, stopwords (a method's parameter values fit) and the algorithm
 * @returns the built index
 */
export function buildBm25Index(
  corpus: Corpus,
  options: Readonly<Bm25IndexOptions>,
): Promise<RetrievalIndex> {
  const { k1, b } = options;
  return buildLexicalIndex(corpus, {
    stem: options.stem,
    stopwords: options.stopwords,
    scorer: (p) => bm25Scorer(p, { k1, b }),
    algorithm: options.algorithm,
    blockSize: options.blockSize,
    config: { scorer: "bm25-lucene-idf", k1, b },
  });
}
