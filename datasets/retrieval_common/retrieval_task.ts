// The task shape every retrieval collection shares: index the corpus (setup, untimed), time
// batches of test queries at k = 10, then answer every evaluated query at k = 100 to score it,
// time it on its own, and check it against the method's reference (the family's gate).
import {
  type BuildContext,
  checkRankings,
  EVAL_K,
  queryMeasures,
  type Ranking,
  type RetrievalIndex,
  type RetrievalMethod,
  TIMED_K,
  trecEvalOrder,
} from "../../bench/families/retrieval/mod.ts";
import type { MetricSpec, ParamSpecs, ParamValues, ParamValuesOf } from "../../bench/metadata.ts";
import type {
  DumpTensor,
  PreparedCase,
  TaskContext,
  TaskImpl,
  Trial,
  TrialResult,
} from "../../bench/plugin.ts";
import { paramsKey } from "../../bench/plan.ts";
import { bootstrapInterval, mean } from "../../bench/stats.ts";
import { retrievalBuildContext } from "./build_context.ts";
import {
  type Collection,
  collectionSha256,
  type JudgedQuery,
  sampleCollection,
  trainingQueries,
} from "./collection.ts";
import { runText } from "./trec.ts";
import { QueryTimes } from "./query_times.ts";

export const RETRIEVAL_METRICS: MetricSpec[] = [
  {
    name: "ndcg_10",
    description:
      "nDCG@10 (trec_eval ndcg_cut.10), mean over test queries; ndcg_10_ci95_low/high bound it (bootstrap over queries), as mrr_10_* and recall_100_* do theirs",
    higherIsBetter: true,
  },
  {
    name: "mrr_10",
    description: "reciprocal rank of the first relevant document within 10",
    higherIsBetter: true,
  },
  { name: "recall_100", description: "Recall@100 (trec_eval recall.100)", higherIsBetter: true },
  {
    name: "qps",
    description:
      "test queries answered per second at k = 10 on one thread, over the timed rounds (interleaved with the case's other cells, after the warm-up); qps_ci95_low/high: bootstrap over rounds. No method answers on several threads, so there is no parallel figure",
    higherIsBetter: true,
    unit: "1/s",
  },
  {
    name: "latency_p50_ms",
    description:
      "median per-query latency at k = 10 over the timed rounds (a batched method's queries each get their batch's mean); latency_p50_ms_ci95_low/high: bootstrap over queries",
    higherIsBetter: false,
    unit: "ms",
  },
  {
    name: "latency_p95_ms",
    description:
      "95th percentile per-query latency at k = 10 over the timed rounds, with its interval",
    higherIsBetter: false,
    unit: "ms",
  },
  {
    name: "index_build_ms",
    description:
      "time to build the index, training or tuning included; the corpus's analysis (tokens, stems, stopwords) is analysis_ms, reported apart because cells with the same analyzer share it and only the first pays it",
    higherIsBetter: false,
    unit: "ms",
  },
  { name: "index_bytes", description: "bytes held by the index", higherIsBetter: false, unit: "B" },
  {
    name: "postings_per_query",
    description: "postings scored per query at k = 10 (the FLOPs measure)",
    higherIsBetter: false,
  },
];

/** Case parameters of every retrieval task: how much of the collection a profile runs on. */
export const SAMPLE_PARAMS = {
  docs: {
    type: "int",
    description: "documents kept (the evaluated queries' relevant ones first); 0 = all",
    default: 0,
    min: 0,
    max: 10_000_000,
    sweep: [0],
    valueLabels: { "0": "all" },
  },
  queries: {
    type: "int",
    description: "test queries evaluated (a fixed hash-ordered subset); 0 = all",
    default: 0,
    min: 0,
    max: 10_000_000,
    sweep: [0],
    valueLabels: { "0": "all" },
  },
  batch: {
    type: "int",
    description: "test queries per timed sample (k = 10)",
    default: 200,
    min: 1,
    max: 100_000,
    sweep: [200],
  },
} satisfies ParamSpecs;

/** The case parameter values of a retrieval task. */
export type SampleParams = ParamValuesOf<typeof SAMPLE_PARAMS>;

/** The headline measures, each averaged over queries with its bootstrap interval. */
const QUALITY = ["ndcg_10", "mrr_10", "recall_100"] as const;

/**
 * Each measure's mean over queries and its 95% bootstrap interval over queries, as
 * `<name>`, `<name>_ci95_low` and `<name>_ci95_high`.
 *
 * @param perQuery each measure's value on every evaluated query, in the same order
 * @returns the means and intervals (all 0 when there is no query)
 */
export function qualityWithIntervals(
  perQuery: Readonly<Record<string, readonly number[]>>,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, values] of Object.entries(perQuery)) {
    if (values.length === 0) {
      out[name] = out[`${name}_ci95_low`] = out[`${name}_ci95_high`] = 0;
      continue;
    }
    const [low, high] = bootstrapInterval(values, mean);
    out[name] = mean(values);
    out[`${name}_ci95_low`] = low;
    out[`${name}_ci95_high`] = high;
  }
  return out;
}

/** The check's inputs and outputs for `--dump`: top-10 doc numbers and scores, padded with −1/0. */
function topDumps(rankings: readonly Ranking[], reference: readonly Ranking[]): DumpTensor[] {
  const tensors = (name: string, list: readonly Ranking[]): DumpTensor[] => {
    const docs = new Float32Array(list.length * TIMED_K).fill(-1);
    const scores = new Float32Array(list.length * TIMED_K);
    list.forEach((r, q) => {
      for (let i = 0; i < Math.min(TIMED_K, r.docs.length); i++) {
        docs[q * TIMED_K + i] = r.docs[i];
        scores[q * TIMED_K + i] = r.scores[i];
      }
    });
    return [
      { name: `${name}_top${TIMED_K}_docs`, shape: [list.length, TIMED_K], data: docs },
      { name: `${name}_top${TIMED_K}_scores`, shape: [list.length, TIMED_K], data: scores },
    ];
  };
  return [
    ...tensors("method", rankings),
    ...(reference.length > 0 ? tensors("reference", reference) : []),
  ];
}

const TREC_DIR = new URL("../../.cache/retrieval/trec/", import.meta.url);

/** One case of a collection, as every cell of it sees it: the same for the bench and for export. */
export interface CollectionCase {
  /** The sampled collection (its evaluated test queries, kept documents, train queries). */
  collection: Collection;
  datasetSha256: string;
  buildContext: BuildContext;
  /** Queries per timed sample and per `searchBatch` call. */
  batchSize: number;
}

/**
 * The case of a collection for some case parameters and seed: what `prepare` builds, and what
 * `deno task export-trec` rebuilds to write a cell's run exactly as the bench scored it.
 *
 * @param full the whole collection
 * @param caseParams the task's case parameters (docs, queries, batch)
 * @param seed the case's seed (`caseSeed` of the run seed, the task and the case)
 * @param gpu the GPU, for methods that require it
 */
export async function collectionCase(
  full: Collection,
  caseParams: Readonly<SampleParams>,
  seed: number,
  gpu: TaskContext["gpu"],
): Promise<CollectionCase> {
  const collection = sampleCollection(full, { docs: caseParams.docs, queries: caseParams.queries });
  const datasetSha256 = await collectionSha256(collection);
  return {
    collection,
    datasetSha256,
    buildContext: retrievalBuildContext({
      train: trainingQueries(collection),
      seed,
      corpusKey: datasetSha256,
      gpu,
    }),
    batchSize: Math.min(caseParams.batch, collection.test.length),
  };
}

/**
 * Every query answered at depth `k`, through `searchBatch` in batches when the index has it.
 *
 * @returns one ranking per query, in the method's own order (score it via `trecEvalOrder`)
 */
export async function rankQueries(
  index: RetrievalIndex,
  queries: readonly JudgedQuery[],
  k: number,
  batchSize: number,
): Promise<Ranking[]> {
  const rankings: Ranking[] = [];
  if (index.searchBatch) {
    for (let i = 0; i < queries.length; i += batchSize) {
      const chunk = queries.slice(i, i + batchSize).map((q) => q.text);
      rankings.push(...await index.searchBatch(chunk, k));
    }
  } else {
    for (const q of queries) rankings.push(index.search(q.text, k));
  }
  return rankings;
}

/**
 * A retrieval task's implementation over a collection loader.
 *
 * @param taskId the task's id (names its `--dump` runs)
 * @param load the collection (cached conversion, or converted from its pinned package)
 * @returns what `defineTask` takes as `impl`
 */
export function retrievalTaskImpl(
  taskId: string,
  load: () => Promise<Collection>,
): TaskImpl<SampleParams> {
  return {
    async prepare(caseParams, ctx: TaskContext): Promise<PreparedCase> {
      const { collection: c, datasetSha256, buildContext, batchSize } = await collectionCase(
        await load(),
        caseParams,
        ctx.seed,
        ctx.gpu,
      );
      const judged = c.test.map((q) => new Map(q.relevant.map((d) => [d, 1])));
      const build = async (method: RetrievalMethod, params: ParamValues) => {
        const start = performance.now();
        const index = await method.build(c.corpus, params, buildContext);
        return { index, buildMs: performance.now() - start };
      };
      // Every evaluated query at k = 100, untimed (throughput comes from the timed rounds).
      const evaluate = async (index: RetrievalIndex, queries: readonly JudgedQuery[]) => {
        const rankings = await rankQueries(index, queries, EVAL_K, batchSize);
        const perQuery: Record<typeof QUALITY[number], number[]> = {
          ndcg_10: [],
          mrr_10: [],
          recall_100: [],
        };
        // Scored as trec_eval scores the exported run: ties re-ordered by its rule.
        rankings.forEach((r, i) => {
          const m = queryMeasures(trecEvalOrder(r, c.corpus.ids).docs, judged[i]);
          for (const name of QUALITY) perQuery[name].push(m[name]);
        });
        return { rankings, quality: qualityWithIntervals(perQuery) };
      };
      return {
        datasetSha256,
        async referenceMetrics(method, params) {
          const { index } = await build(method.impl as RetrievalMethod, params);
          try {
            return (await evaluate(index, c.test)).quality;
          } finally {
            index.dispose();
          }
        },
        async bind(method, params): Promise<Trial> {
          const { index, buildMs } = await build(method.impl as RetrievalMethod, params);
          let cursor = 0;
          let timedPostings = 0;
          let timedQueries = 0;
          const queryTimes = new QueryTimes();
          return {
            setup: { compileMs: null, uploadMs: null },
            async sample(info) {
              const texts = Array.from(
                { length: batchSize },
                (_, i) => c.test[(cursor + i) % c.test.length].text,
              );
              // Each query timed on its own (the clock costs well under a microsecond); a batched
              // method's queries each get their batch's mean.
              const each: number[] = [];
              const start = performance.now();
              if (index.searchBatch) {
                for (const r of await index.searchBatch(texts, TIMED_K)) {
                  timedPostings += r.postingsScored;
                }
                each.push(...Array(texts.length).fill((performance.now() - start) / texts.length));
              } else {
                for (const text of texts) {
                  const t0 = performance.now();
                  timedPostings += index.search(text, TIMED_K).postingsScored;
                  each.push(performance.now() - t0);
                }
              }
              const wallMs = performance.now() - start;
              cursor = (cursor + batchSize) % c.test.length;
              timedQueries += batchSize;
              if (!info?.warmup) queryTimes.addRound(each, wallMs);
              return { wallMs: wallMs / batchSize, kernelMs: null, reps: batchSize };
            },
            async finish(): Promise<TrialResult> {
              const { rankings, quality } = await evaluate(index, c.test);
              const ref = index.reference;
              // A batched method is checked at k = 10 through its batch path too.
              let top10s: Ranking[] | null = null;
              if (ref && index.searchBatch) {
                top10s = [];
                const limit = ref.maxQueries ?? c.test.length;
                const texts = c.test.slice(0, limit).map((q) => q.text);
                for (let i = 0; i < texts.length; i += batchSize) {
                  top10s.push(...await index.searchBatch(texts.slice(i, i + batchSize), TIMED_K));
                }
              }
              const gate = checkRankings({
                queries: c.test,
                rankings,
                top10: (i) => top10s ? top10s[i] : index.search(c.test[i].text, TIMED_K),
                numDocs: c.corpus.ids.length,
                reference: ref,
              });
              if (ctx.dump) {
                await Deno.mkdir(new URL(`${taskId}/`, TREC_DIR), { recursive: true });
                const tag = `${method.meta.id}`;
                const name = `${tag}_${paramsKey(params).replace(/[^a-zA-Z0-9=.,_-]/g, "_")}.run`;
                await Deno.writeTextFile(
                  new URL(`${taskId}/${name}`, TREC_DIR),
                  runText(c.test, rankings, c.corpus, tag),
                );
              }
              const perQueryPostings = timedQueries > 0 ? timedPostings / timedQueries : 0;
              // Postings scored at k = 10 over those the reference scores: what pruning skipped.
              const scoredShare = ref && gate.referencePostings > 0
                ? gate.postings / gate.referencePostings
                : null;
              return {
                check: gate.check,
                metrics: {
                  ...quality,
                  ...queryTimes.metrics(),
                  index_build_ms: buildMs,
                  index_bytes: index.sizeBytes,
                  postings_per_query: perQueryPostings,
                  evaluated_queries: c.test.length,
                  documents: c.corpus.ids.length,
                  ...index.stats,
                },
                sparsity: {
                  nominalDensity: null,
                  realizedDensity: scoredShare,
                  flopsRatio: scoredShare,
                },
                flops: 2 * perQueryPostings,
                dumps: ctx.dump ? topDumps(rankings, gate.references) : [],
              };
            },
            dispose() {
              index.dispose();
            },
          };
        },
        dispose() {},
      };
    },
  };
}
