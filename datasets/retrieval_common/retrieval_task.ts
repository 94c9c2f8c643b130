// The task shape every retrieval collection shares: index the corpus (setup, untimed), time
// batches of test queries at k = 10, then answer every evaluated query at k = 100 to score it,
// time it on its own, and check it against the method's reference.
import type { ParamSpecs, ParamValues } from "../../bench/metadata.ts";
import type { MetricSpec } from "../../bench/metadata.ts";
import type {
  DumpTensor,
  PreparedCase,
  TaskContext,
  TaskImpl,
  Trial,
  TrialResult,
} from "../../bench/plugin.ts";
import { paramsKey } from "../../bench/plan.ts";
import { percentile } from "../../bench/stats.ts";
import type {
  Ranking,
  RetrievalIndex,
  RetrievalMethod,
} from "../../methods/retrieval/interface.ts";
import {
  type Collection,
  collectionSha256,
  type JudgedQuery,
  sampleCollection,
  trainingQueries,
} from "./collection.ts";
import { queryMeasures } from "./metrics.ts";
import { runText } from "./trec.ts";

/** Depth of the timed queries (the speed bar is stated at k = 10). */
export const TIMED_K = 10;
/** Depth of the scored run (Recall@100 needs 100). */
export const EVAL_K = 100;

export const RETRIEVAL_METRICS: MetricSpec[] = [
  {
    name: "ndcg_10",
    description: "nDCG@10 (trec_eval ndcg_cut.10), mean over test queries",
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
    description: "test queries answered per second, one at a time (k = 100)",
    higherIsBetter: true,
    unit: "1/s",
  },
  {
    name: "latency_p50_ms",
    description: "median per-query latency over the evaluated queries (k = 100)",
    higherIsBetter: false,
    unit: "ms",
  },
  {
    name: "latency_p95_ms",
    description: "95th percentile per-query latency (k = 100)",
    higherIsBetter: false,
    unit: "ms",
  },
  {
    name: "index_build_ms",
    description: "time to build the index (analysis, and training for learned methods, included)",
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
export const SAMPLE_PARAMS: ParamSpecs = {
  docs: {
    type: "int",
    description: "documents kept (the evaluated queries' relevant ones first); 0 = all",
    default: 0,
    min: 0,
    max: 10_000_000,
    sweep: [0],
  },
  queries: {
    type: "int",
    description: "test queries evaluated (a fixed hash-ordered subset); 0 = all",
    default: 0,
    min: 0,
    max: 10_000_000,
    sweep: [0],
  },
  batch: {
    type: "int",
    description: "test queries per timed sample (k = 10)",
    default: 200,
    min: 1,
    max: 100_000,
    sweep: [200],
  },
};

/**
 * Whether `a` equals the reference `b` to depth k: scores within `tolerance` position by position
 * and the same doc numbers; with a tolerance, two documents may trade places when their scores
 * are within it (a near-tie the reference's arithmetic may order otherwise).
 */
function sameRanking(a: Ranking, b: Ranking, k: number, tolerance: number): boolean {
  const n = Math.min(k, b.docs.length);
  if (Math.min(k, a.docs.length) !== n) return false;
  for (let i = 0; i < n; i++) {
    if (Math.abs(a.scores[i] - b.scores[i]) > tolerance) return false;
    if (a.docs[i] === b.docs[i]) continue;
    if (tolerance === 0) return false;
    const j = b.docs.indexOf(a.docs[i]);
    const near = j >= 0
      ? Math.abs(b.scores[j] - a.scores[i]) <= tolerance
      : Math.abs(a.scores[i] - b.scores[n - 1]) <= tolerance;
    if (!near) return false;
  }
  return true;
}

/** Doc numbers in range, no duplicates, scores finite and not increasing, at most k of them. */
function wellFormed(r: Ranking, k: number, numDocs: number): boolean {
  if (r.docs.length > k || r.docs.length !== r.scores.length) return false;
  const seen = new Set<number>();
  for (let i = 0; i < r.docs.length; i++) {
    const d = r.docs[i];
    if (!Number.isInteger(d) || d < 0 || d >= numDocs || seen.has(d)) return false;
    seen.add(d);
    if (!Number.isFinite(r.scores[i])) return false;
    if (i > 0 && r.scores[i] > r.scores[i - 1]) return false;
  }
  return true;
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

/** A retrieval task's implementation over a collection loader. */
export function retrievalTaskImpl(taskId: string, load: () => Promise<Collection>): TaskImpl {
  return {
    async prepare(caseParams: ParamValues, ctx: TaskContext): Promise<PreparedCase> {
      const full = await load();
      const c = sampleCollection(full, caseParams.docs as number, caseParams.queries as number);
      const datasetSha256 = await collectionSha256(c);
      const batchSize = Math.min(caseParams.batch as number, c.test.length);
      const judged = c.test.map((q) => new Map(q.relevant.map((d) => [d, 1])));
      const train = trainingQueries(c);
      const build = async (method: RetrievalMethod, params: ParamValues) => {
        const start = performance.now();
        const index = await method.build(c.corpus, params, {
          train,
          seed: ctx.seed,
          corpusKey: datasetSha256,
          gpu: ctx.gpu,
        });
        return { index, buildMs: performance.now() - start };
      };
      // Per-query times; a batched method's queries each get their batch's mean.
      const evaluate = async (index: RetrievalIndex, queries: readonly JudgedQuery[]) => {
        const rankings: Ranking[] = [];
        const times: number[] = [];
        if (index.searchBatch) {
          for (let i = 0; i < queries.length; i += batchSize) {
            const chunk = queries.slice(i, i + batchSize).map((q) => q.text);
            const t0 = performance.now();
            rankings.push(...await index.searchBatch(chunk, EVAL_K));
            const each = (performance.now() - t0) / chunk.length;
            for (let j = 0; j < chunk.length; j++) times.push(each);
          }
        } else {
          for (const q of queries) {
            const t0 = performance.now();
            rankings.push(index.search(q.text, EVAL_K));
            times.push(performance.now() - t0);
          }
        }
        const sums = { ndcg_10: 0, mrr_10: 0, recall_100: 0 };
        rankings.forEach((r, i) => {
          const m = queryMeasures(r.docs, judged[i]);
          sums.ndcg_10 += m.ndcg_10;
          sums.mrr_10 += m.mrr_10;
          sums.recall_100 += m.recall_100;
        });
        const n = Math.max(1, queries.length);
        return {
          rankings,
          times,
          quality: {
            ndcg_10: sums.ndcg_10 / n,
            mrr_10: sums.mrr_10 / n,
            recall_100: sums.recall_100 / n,
          },
        };
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
          return {
            setup: { compileMs: null, uploadMs: null },
            async sample() {
              const texts = Array.from(
                { length: batchSize },
                (_, i) => c.test[(cursor + i) % c.test.length].text,
              );
              const start = performance.now();
              if (index.searchBatch) {
                for (const r of await index.searchBatch(texts, TIMED_K)) {
                  timedPostings += r.postingsScored;
                }
              } else {
                for (const text of texts) {
                  timedPostings += index.search(text, TIMED_K).postingsScored;
                }
              }
              const wallMs = performance.now() - start;
              cursor = (cursor + batchSize) % c.test.length;
              timedQueries += batchSize;
              return { wallMs: wallMs / batchSize, kernelMs: null, reps: batchSize };
            },
            async finish(): Promise<TrialResult> {
              const { rankings, times, quality } = await evaluate(index, c.test);
              const reasons: string[] = [];
              let checked = 0;
              let mismatches = 0;
              const refTop: Ranking[] = [];
              let postings10 = 0;
              let refPostings10 = 0;
              const ref = index.reference;
              const limit = ref?.maxQueries ?? c.test.length;
              // A batched method is checked at k = 10 through its batch path too.
              let top10s: Ranking[] | null = null;
              if (ref && index.searchBatch) {
                top10s = [];
                const texts = c.test.slice(0, limit).map((q) => q.text);
                for (let i = 0; i < texts.length; i += batchSize) {
                  top10s.push(...await index.searchBatch(texts.slice(i, i + batchSize), TIMED_K));
                }
              }
              for (let i = 0; i < c.test.length; i++) {
                if (!wellFormed(rankings[i], EVAL_K, c.corpus.ids.length)) {
                  reasons.push(`query ${c.test[i].id}: ranking is not well formed`);
                  break;
                }
                if (!ref || i >= limit) continue;
                const top10 = top10s ? top10s[i] : index.search(c.test[i].text, TIMED_K);
                const expected = ref.search(c.test[i].text, EVAL_K);
                if (ctx.dump) refTop.push(expected);
                postings10 += top10.postingsScored;
                refPostings10 += expected.postingsScored;
                checked++;
                if (
                  !sameRanking(rankings[i], expected, EVAL_K, ref.scoreTolerance) ||
                  !sameRanking(top10, expected, TIMED_K, ref.scoreTolerance)
                ) {
                  if (mismatches++ === 0) {
                    reasons.push(
                      `query ${
                        c.test[i].id
                      }: top-k differs from the reference (${ref.description})`,
                    );
                  }
                }
              }
              if (mismatches > 1) reasons.push(`${mismatches} queries differ in all`);
              const passed = reasons.length === 0;
              if (ctx.dump) {
                await Deno.mkdir(new URL(`${taskId}/`, TREC_DIR), { recursive: true });
                const tag = `${method.meta.id}`;
                const name = `${tag}_${paramsKey(params).replace(/[^a-zA-Z0-9=.,_-]/g, "_")}.run`;
                await Deno.writeTextFile(
                  new URL(`${taskId}/${name}`, TREC_DIR),
                  runText(c.test, rankings, c.corpus, tag),
                );
              }
              const sorted = times.slice().sort((a, b) => a - b);
              const totalMs = times.reduce((a, b) => a + b, 0);
              const perQueryPostings = timedQueries > 0 ? timedPostings / timedQueries : 0;
              return {
                check: {
                  passed,
                  description: passed
                    ? ref
                      ? `top-${TIMED_K} and top-${EVAL_K} equal the reference (${ref.description}) on ${checked} of ${c.test.length} test queries, ties by doc number; every ranking well formed`
                      : `no reference for this method: every ranking of the ${c.test.length} test queries is well formed (doc numbers in range, no duplicates, scores not increasing)`
                    : reasons.join("; "),
                  maxAbsError: null,
                  tolerance: ref
                    ? `doc numbers identical, |Δscore| ≤ ${ref.scoreTolerance}`
                    : "none",
                },
                metrics: {
                  ...quality,
                  qps: totalMs > 0 ? (1000 * times.length) / totalMs : 0,
                  latency_p50_ms: sorted.length ? percentile(sorted, 50) : 0,
                  latency_p95_ms: sorted.length ? percentile(sorted, 95) : 0,
                  index_build_ms: buildMs,
                  index_bytes: index.sizeBytes,
                  postings_per_query: perQueryPostings,
                  evaluated_queries: c.test.length,
                  documents: c.corpus.ids.length,
                  ...index.stats,
                },
                sparsity: ref && refPostings10 > 0
                  ? {
                    nominalDensity: null,
                    realizedDensity: postings10 / refPostings10,
                    flopsRatio: postings10 / refPostings10,
                  }
                  : null,
                flops: 2 * perQueryPostings,
                dumps: ctx.dump ? topDumps(rankings, refTop) : [],
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
