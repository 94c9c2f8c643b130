// Glue shared by the family's own lexical methods: analyse the corpus, build impacts with a
// scorer, and answer queries with one of the exact top-k algorithms.
import { analyzerFor, type AnalyzerOptions } from "./_analysis.ts";
import { blockMaxWandTopK } from "./_block_max_wand.ts";
import { exhaustiveTopK, termAtATimeReference } from "./_exhaustive.ts";
import {
  type ImpactIndex,
  impactIndexBytes,
  impactIndexFromPostings,
  type WeightedQuery,
} from "./_impact_index.ts";
import type { Corpus, Ranking, RetrievalIndex } from "./_interface.ts";
import { maxScoreTopK } from "./_maxscore.ts";
import { buildPostings, type Postings, queryTerms, vocabBytes } from "./_postings.ts";
import { wandTopK } from "./_wand.ts";

/** Queries on which an exhaustive method is compared with its reference. */
export const EXHAUSTIVE_CHECKED_QUERIES = 300;

export const ALGORITHMS = ["exhaustive", "maxscore", "wand", "block-max-wand"] as const;
export type Algorithm = typeof ALGORITHMS[number];

/** The exact top-k function of each algorithm. */
export const TOP_K: Record<
  Algorithm,
  (index: ImpactIndex, query: WeightedQuery, k: number) => Ranking
> = {
  "exhaustive": exhaustiveTopK,
  "maxscore": maxScoreTopK,
  "wand": wandTopK,
  "block-max-wand": blockMaxWandTopK,
};

/** A scorer: impacts of postings and weights of query terms. */
export interface Scorer {
  impact(t: number, tf: number, doc: number): number;
  queryWeight(t: number, count: number): number;
  docPrior?: Float32Array;
  /** Multiplier of the prior for a query of `knownTokens` analysed tokens found in the corpus. */
  priorWeight?(knownTokens: number): number;
}

/** How {@link buildLexicalIndex} analyses, scores and answers. */
export interface LexicalIndexOptions extends AnalyzerOptions {
  /** The scorer over the corpus's postings. */
  scorer: (postings: Postings) => Scorer;
  algorithm: Algorithm;
  /** Postings per block of the block-max index (default {@link DEFAULT_BLOCK_SIZE}). */
  blockSize?: number;
  /** How the method was configured, recorded in the result (analyzer and algorithm added). */
  config: Record<string, string | number | boolean>;
}

/**
 * An index of the corpus under a scorer, answering with one exact top-k algorithm; its
 * reference is term-at-a-time accumulation over the same impacts.
 *
 * @param corpus the documents
 * @param options analyzer, scorer, algorithm and config
 * @returns the built index
 * @throws {Error} naming the npm package when stemming or stopwords are asked for and it is absent
 * @example
 * ```ts
 * import { bm25Scorer, buildLexicalIndex } from "./mod.ts";
 * const index = await buildLexicalIndex({ ids: ["a", "b"], texts: ["red car", "blue sky"] }, {
 *   stem: false,
 *   stopwords: "none",
 *   scorer: (p) => bm25Scorer(p, { k1: 0.9, b: 0.4 }),
 *   algorithm: "wand",
 *   config: { scorer: "bm25" },
 * });
 * index.search("sky", 10).docs; // Int32Array [1]
 * ```
 */
export async function buildLexicalIndex(
  corpus: Corpus,
  options: LexicalIndexOptions,
): Promise<RetrievalIndex> {
  const { algorithm } = options;
  const analyzer = await analyzerFor(options);
  const postings = buildPostings(corpus, analyzer);
  const scorer = options.scorer(postings);
  const index = impactIndexFromPostings(postings, scorer.impact, {
    docPrior: scorer.docPrior ?? null,
    blockSize: options.blockSize,
  });
  const toQuery = (text: string): WeightedQuery => {
    const q = queryTerms(postings, analyzer, text);
    return {
      terms: q.terms,
      weights: Float64Array.from(q.terms, (t, i) => scorer.queryWeight(t, q.counts[i])),
      priorWeight: scorer.priorWeight ? scorer.priorWeight(q.counts.reduce((a, b) => a + b, 0)) : 0,
    };
  };
  const topK = TOP_K[algorithm];
  return {
    search: (text, k) => topK(index, toQuery(text), k),
    reference: {
      description:
        "term-at-a-time accumulation of every posting of the query terms, then a full sort",
      search: (text, k) => termAtATimeReference(index, toQuery(text), k),
      // Exhaustive scoring is the reference's own algorithm by another loop order: a sample of
      // queries suffices. Pruning algorithms are checked on every query.
      maxQueries: algorithm === "exhaustive" ? EXHAUSTIVE_CHECKED_QUERIES : null,
      scoreTolerance: 0,
    },
    sizeBytes: impactIndexBytes(index) + vocabBytes(postings.terms),
    stats: {
      vocabulary: postings.terms.length,
      postings: index.docs.length,
      nonzeros_per_doc: index.docs.length / Math.max(1, index.numDocs),
      analysis_ms: postings.analysisMs,
    },
    config: { ...options.config, analyzer: analyzer.name, algorithm, blockSize: index.blockSize },
    dispose() {},
  };
}
