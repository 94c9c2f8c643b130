// Query likelihood with Dirichlet smoothing (Zhai & Lafferty 2001), scored exhaustively.
import {
  ANALYZER_PARAMS,
  buildLexicalIndex,
  defaultsOnly,
  defineRetrievalMethod,
  type Postings,
  type Scorer,
} from "../../bench/families/retrieval/mod.ts";

/**
 * Rank-equivalent form of log P(q | d) under Dirichlet smoothing: Σ qtf · ln(1 + tf / (μ · P(t|C)))
 * over matching terms, plus |q| · ln(μ / (|d| + μ)) as a per-document prior. Documents matching
 * no query term are not ranked (as in Lucene and Anserini).
 */
export function dirichletScorer(postings: Postings, mu: number): Scorer {
  const total = postings.totalTerms || 1;
  const pc = Float64Array.from(postings.cf, (cf) => cf / total);
  return {
    impact: (t, tf) => Math.log(1 + tf / (mu * pc[t])),
    queryWeight: (_t, count) => count,
    docPrior: Float32Array.from(postings.docLen, (dl) => Math.log(mu / (dl + mu))),
    priorWeight: (known) => known,
  };
}

export const queryLikelihood = defineRetrievalMethod({
  id: "ql-dirichlet",
  family: "retrieval",
  title: "Query likelihood (Dirichlet)",
  fidelity: {
    level: "faithful",
    reason: "query likelihood with Dirichlet smoothing as in the paper, scored exhaustively",
  },
  description:
    "Language-model retrieval: documents ranked by the query's log-likelihood under the document model with Dirichlet smoothing, scored exhaustively over the inverted index.",
  paper: {
    title:
      "A Study of Smoothing Methods for Language Models Applied to Ad Hoc Information Retrieval",
    year: 2001,
    link: "https://doi.org/10.1145/383952.384019",
  },
  version: "1.0.0",
  parameters: {
    mu: {
      type: "number",
      description: "Dirichlet prior μ",
      default: 1000,
      min: 1,
      max: 100000,
      sweep: [100, 1000],
    },
    ...defaultsOnly(ANALYZER_PARAMS),
  },
  capabilities: { requires: [], features: ["exact-top-k"] },
  impl: {
    build: (corpus, params) =>
      buildLexicalIndex(corpus, {
        ...params,
        scorer: (p) => dirichletScorer(p, params.mu),
        algorithm: "exhaustive",
        config: { scorer: "ql-dirichlet", mu: params.mu },
      }),
  },
});
