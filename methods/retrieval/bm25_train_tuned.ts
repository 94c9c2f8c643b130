// BM25 with k1, b and the analyzer chosen on the collection's training queries: the retrieval
// tasks' reference, so "better than BM25" always means better than the best BM25 this grid holds,
// tuned on train and reported on test (never tuned on the queries it is scored on).
import {
  buildBm25Index,
  type BuildContext,
  type Corpus,
  defineRetrievalMethod,
  queryMeasures,
  type RetrievalIndex,
  STOPWORD_LISTS,
  TIMED_K,
  type TrainingQuery,
  trecEvalOrder,
} from "../../bench/families/retrieval/mod.ts";
import { hashString, sha256OfText } from "../../bench/random.ts";

/**
 * The grid searched, the usual defaults first (a tie keeps the earlier point). It spans Anserini's
 * default (k1 0.9, b 0.4), Lucene's (1.2, 0.75) and the ranges tuned BM25 settles in on short
 * queries, with every analyzer the family has.
 */
export const TUNING_GRID = {
  k1: [0.9, 1.2, 0.6, 1.5, 2.0],
  b: [0.4, 0.75, 0.2, 0.6, 0.9],
  stem: [true, false],
  stopwords: [...STOPWORD_LISTS],
} as const;

/** One point of {@link TUNING_GRID}. */
export interface Bm25Config {
  k1: number;
  b: number;
  stem: boolean;
  stopwords: string;
}

/**
 * Two stages, so tuning costs a third of the whole grid: every analyzer at the four corners of
 * Anserini's and Lucene's k1 and b, then every k1 × b for the best analyzer.
 */
function stageOne(): Bm25Config[] {
  const out: Bm25Config[] = [];
  for (const stem of TUNING_GRID.stem) {
    for (const stopwords of TUNING_GRID.stopwords) {
      for (const k1 of TUNING_GRID.k1.slice(0, 2)) {
        for (const b of TUNING_GRID.b.slice(0, 2)) out.push({ k1, b, stem, stopwords });
      }
    }
  }
  return out;
}

function stageTwo(analyzer: Pick<Bm25Config, "stem" | "stopwords">): Bm25Config[] {
  const { stem, stopwords } = analyzer;
  return TUNING_GRID.k1.flatMap((k1) => TUNING_GRID.b.map((b) => ({ k1, b, stem, stopwords })));
}

/**
 * The training queries tuning scores: a seeded, hash-ordered subset of `limit` (all when 0).
 *
 * @param train the collection's training queries
 * @param limit how many to keep; 0 keeps all
 * @param seed the case's seed
 */
export function tuningQueries(
  train: readonly TrainingQuery[],
  limit: number,
  seed: number,
): TrainingQuery[] {
  const ordered = train.map((q) => ({ q, h: hashString(q.id, seed >>> 0) }))
    .sort((a, b) => a.h - b.h || (a.q.id < b.q.id ? -1 : 1)).map((x) => x.q);
  return limit > 0 ? ordered.slice(0, limit) : ordered;
}

/** Mean nDCG@10 of an index over judged queries, each ranking in trec_eval's order. */
export function meanNdcg10(
  index: RetrievalIndex,
  queries: readonly TrainingQuery[],
  ids: readonly string[],
): number {
  if (queries.length === 0) return 0;
  let sum = 0;
  for (const q of queries) {
    const ranking = trecEvalOrder(index.search(q.text, TIMED_K), ids);
    sum += queryMeasures(ranking.docs, new Map(q.relevant.map((d) => [d, 1]))).ndcg_10;
  }
  return sum / queries.length;
}

/** What tuning chose, and what it cost. */
export interface Bm25Tuning {
  best: Bm25Config;
  /** Mean nDCG@10 of the best configuration on the tuning queries. */
  ndcg10: number;
  configs: number;
  queries: number;
  ms: number;
}

/**
 * Scores the grid's configurations on the tuning queries in two stages and keeps the best by
 * mean nDCG@10. Queries are answered by MaxScore: the exact top 10 exhaustive BM25 gives, for less
 * work.
 *
 * @throws {Error} when there is no training query to tune on
 */
export async function tuneBm25(
  corpus: Corpus,
  queries: readonly TrainingQuery[],
): Promise<Bm25Tuning> {
  if (queries.length === 0) {
    throw new Error(
      "bm25-train-tuned has no training query to tune on: the task's build context gives none",
    );
  }
  const start = performance.now();
  const scored = new Map<string, number>();
  let best: Bm25Config | null = null;
  const consider = async (config: Bm25Config) => {
    const key = JSON.stringify(config);
    if (scored.has(key)) return;
    const index = await buildBm25Index(corpus, { ...config, algorithm: "maxscore" });
    try {
      scored.set(key, meanNdcg10(index, queries, corpus.ids));
    } finally {
      index.dispose();
    }
    if (!best || scored.get(key)! > scored.get(JSON.stringify(best))!) best = config;
  };
  for (const config of stageOne()) await consider(config);
  for (const config of stageTwo(best!)) await consider(config);
  const chosen: Bm25Config = best!;
  return {
    best: chosen,
    ndcg10: scored.get(JSON.stringify(chosen))!,
    configs: scored.size,
    queries: queries.length,
    ms: performance.now() - start,
  };
}

// What a cached tuning is keyed by besides its inputs: bump when scoring, analysis or the search
// change, so a stale choice is never reused.
const TUNER_VERSION = 1;
const CACHE_DIR = new URL("../../.cache/retrieval/bm25-tuning/", import.meta.url);

/**
 * {@link tuneBm25}, remembered on disk (`.cache/retrieval/bm25-tuning/`) by the corpus, the tuning
 * queries and the grid: the same case of a later run reuses the choice and reports the cost the
 * tuning had (`tuning_ms`) with `tuning_cached` = 1.
 */
export async function cachedTuneBm25(
  corpus: Corpus,
  queries: readonly TrainingQuery[],
): Promise<Bm25Tuning & { cached: boolean }> {
  const key = await sha256OfText(JSON.stringify({
    v: TUNER_VERSION,
    grid: TUNING_GRID,
    ids: corpus.ids,
    texts: corpus.texts,
    queries: queries.map((q) => [q.id, q.text, q.relevant]),
  }));
  const path = new URL(`${key}.json`, CACHE_DIR);
  try {
    const saved = JSON.parse(await Deno.readTextFile(path)) as Bm25Tuning;
    if (typeof saved.ndcg10 === "number" && typeof saved.best?.k1 === "number") {
      return { ...saved, cached: true };
    }
  } catch {
    // Not tuned yet (or an unreadable file): tune now.
  }
  const tuning = await tuneBm25(corpus, queries);
  try {
    await Deno.mkdir(CACHE_DIR, { recursive: true });
    const tmp = new URL(`${key}.${crypto.randomUUID().slice(0, 8)}.tmp`, CACHE_DIR);
    await Deno.writeTextFile(tmp, JSON.stringify(tuning));
    await Deno.rename(tmp, path);
  } catch {
    // A read-only checkout still benchmarks; it only tunes again next time.
  }
  return { ...tuning, cached: false };
}

async function build(
  corpus: Corpus,
  params: { tuningQueries: number },
  ctx: BuildContext,
): Promise<RetrievalIndex> {
  const tuning = await cachedTuneBm25(
    corpus,
    tuningQueries(ctx.train, params.tuningQueries, ctx.seed),
  );
  const index = await buildBm25Index(corpus, { ...tuning.best, algorithm: "exhaustive" });
  return {
    ...index,
    stats: {
      ...index.stats,
      tuned_k1: tuning.best.k1,
      tuned_b: tuning.best.b,
      tuned_stem: tuning.best.stem ? 1 : 0,
      tuned_stopwords_list: (STOPWORD_LISTS as readonly string[]).indexOf(tuning.best.stopwords),
      tuning_ndcg_10: tuning.ndcg10,
      tuning_queries: tuning.queries,
      tuning_configs: tuning.configs,
      tuning_ms: tuning.ms,
      tuning_cached: tuning.cached ? 1 : 0,
    },
    config: { ...index.config, tuned: `train:${tuning.queries}` },
  };
}

export const bm25TrainTuned = defineRetrievalMethod({
  id: "bm25-train-tuned",
  family: "retrieval",
  title: "BM25 (tuned on training queries)",
  fidelity: {
    level: "baseline",
    reason: "exhaustive BM25 at the grid point best on the training queries: the tasks' reference",
  },
  description:
    "Exhaustive BM25 (Lucene idf) whose k1, b, stemming and stopword list are the best by mean nDCG@10 on the collection's training queries (a seeded subset): every analyzer at k1 ∈ {0.9, 1.2} × b ∈ {0.4, 0.75}, then k1 ∈ {0.6…2.0} × b ∈ {0.2…0.9} (5 × 5) for the best analyzer; scored on the test queries. The retrieval tasks' reference: every 'better than BM25' is against it.",
  paper: {
    title: "Okapi at TREC-3",
    year: 1994,
    link: "https://trec.nist.gov/pubs/trec3/papers/city.ps.gz",
  },
  version: "1.0.0",
  parameters: {
    tuningQueries: {
      type: "int",
      description: "training queries scored per grid point (a seeded hash-ordered subset); 0 = all",
      default: 1000,
      min: 0,
      max: 10_000_000,
      sweep: [1000],
      valueLabels: { "0": "all" },
    },
  },
  capabilities: { requires: [], features: ["exact-top-k"] },
  notes:
    "Tuning is remembered in .cache/retrieval/bm25-tuning/ by corpus, tuning queries and grid: tuning_ms is the cost the tuning had, tuning_cached says whether this cell reused it (index_build_ms then leaves it out); the choice is in tuned_k1, tuned_b, tuned_stem (1 = stemmed) and tuned_stopwords_list (0 nltk, 1 iso, 2 none). Tuning answers with MaxScore (the same exact top 10 as exhaustive scoring).",
  impl: { build },
});
