// Glue shared by the family's own lexical methods: analyse the corpus, build impacts with a
// scorer, and answer queries with one of the exact top-k algorithms.
import type { ParamSpecs, ParamValues } from "../../bench/metadata.ts";
import { type Analyzer, createAnalyzer } from "./analysis.ts";
import { blockMaxWandTopK } from "./block_max_wand.ts";
import { exhaustiveTopK, termAtATimeReference } from "./exhaustive.ts";
import {
  type ImpactIndex,
  impactIndexBytes,
  impactIndexFromPostings,
  type WeightedQuery,
} from "./impact_index.ts";
import type { Corpus, Ranking, RetrievalIndex } from "./interface.ts";
import { maxScoreTopK } from "./maxscore.ts";
import { buildPostings, type Postings, queryTerms, vocabBytes } from "./postings.ts";
import { wandTopK } from "./wand.ts";

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

/** The analyzer parameters every lexical method of the family takes. */
export const ANALYZER_PARAMS: ParamSpecs = {
  stem: {
    type: "boolean",
    description: "Porter stemming (npm stemmer)",
    default: true,
    sweep: [true, false],
  },
  stopwords: {
    type: "boolean",
    description: "drop English stopwords (npm stopwords-iso, 1,298 words)",
    default: true,
    sweep: [true, false],
  },
};

/** The analyzer the parameters ask for. */
export function analyzerFor(params: ParamValues): Promise<Analyzer> {
  return createAnalyzer({ stem: params.stem === true, stopwords: params.stopwords === true });
}

/** A scorer: impacts of postings and weights of query terms. */
export interface Scorer {
  impact(t: number, tf: number, doc: number): number;
  queryWeight(t: number, count: number): number;
  docPrior?: Float32Array;
  /** Multiplier of the prior for a query of `knownTokens` analysed tokens found in the corpus. */
  priorWeight?(knownTokens: number): number;
}

/**
 * An index of the corpus under `scorer`, answering with `algorithm`; its reference is
 * term-at-a-time accumulation over the same impacts.
 */
export async function buildLexicalIndex(
  corpus: Corpus,
  params: ParamValues,
  makeScorer: (postings: Postings) => Scorer,
  algorithm: Algorithm,
  config: Record<string, string | number | boolean>,
): Promise<RetrievalIndex> {
  const analyzer = await analyzerFor(params);
  const postings = buildPostings(corpus, analyzer);
  const scorer = makeScorer(postings);
  const index = impactIndexFromPostings(postings, scorer.impact, {
    docPrior: scorer.docPrior ?? null,
    blockSize: typeof params.blockSize === "number" ? params.blockSize : undefined,
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
    },
    config: { ...config, analyzer: analyzer.name, algorithm, blockSize: index.blockSize },
    dispose() {},
  };
}
