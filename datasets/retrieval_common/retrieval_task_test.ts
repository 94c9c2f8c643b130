import { assert, assertEquals, assertStringIncludes } from "../../tests/assert.ts";
import {
  type Algorithm,
  BM25_PARAMS,
  buildBm25Index,
  defineRetrievalMethod,
} from "../../bench/families/retrieval/mod.ts";
import { defaultParams, paramsLabel } from "../../bench/metadata.ts";
import type { TaskContext } from "../../bench/plugin.ts";
import type { Collection } from "./collection.ts";
import { retrievalTaskImpl, SAMPLE_PARAMS } from "./retrieval_task.ts";

const WORDS = ["apple", "river", "stone", "cloud", "music", "paper", "glass", "tiger", "bread"];

/**
 * 60 documents, 20 queries naming their relevant document's item word; with `vague`, the second
 * half of the test queries lose it, so they rank their document lower or not at all.
 */
function toyCollection(vague = false): Collection {
  const texts = Array.from(
    { length: 60 },
    (_, i) => `${WORDS[i % 9]} ${WORDS[(i * 7) % 9]} ${WORDS[(i * 5 + 1) % 9]} item${i}`,
  );
  const queries = Array.from({ length: 20 }, (_, i) => ({
    id: `q${i}`,
    text: vague && i >= 5 && i < 10 ? WORDS[(i * 3) % 9] : `${WORDS[(i * 3) % 9]} item${i * 2}`,
    relevant: [i * 2],
  }));
  return {
    id: "toy",
    corpus: { ids: texts.map((_, i) => `d${i}`), texts },
    train: queries.slice(10),
    test: queries.slice(0, 10),
    facts: {},
  };
}

/** BM25 answering with one algorithm, as the family's methods do (tasks import no method). */
function bm25With(id: string, algorithm: Algorithm) {
  return defineRetrievalMethod({
    id,
    family: "retrieval",
    title: `BM25 (${algorithm})`,
    description: "BM25 for the task's tests",
    paper: { title: "Okapi at TREC-3", year: 1994, link: "https://trec.nist.gov/" },
    fidelity: { level: "faithful", reason: "a test fixture" },
    version: "1.0.0",
    parameters: BM25_PARAMS,
    capabilities: { requires: [], features: ["exact-top-k"] },
    impl: { build: (corpus, params) => buildBm25Index(corpus, { ...params, algorithm }) },
  });
}

const bm25 = bm25With("test-bm25", "exhaustive");
const bm25Bmw = bm25With("test-bm25-bmw", "block-max-wand");
const ctx: TaskContext = {
  gpu: null,
  seed: 1,
  taskSeed: 1,
  profile: "smoke",
  dump: false,
  minSampleMs: 10,
};
const caseParams = { docs: 0, queries: 0, batch: 4 };
const params = { ...defaultParams(bm25.meta.parameters), stem: false, stopwords: "none" };

Deno.test("a retrieval task times, scores and gates a method against its reference", async () => {
  const task = retrievalTaskImpl("toy-retrieval", () => Promise.resolve(toyCollection()));
  const prepared = await task.prepare(caseParams, ctx);
  for (const method of [bm25, bm25Bmw]) {
    const trial = await prepared.bind(method, params);
    const sample = await trial.sample();
    assertEquals(sample.reps, 4);
    assert(sample.wallMs >= 0);
    const result = await trial.finish();
    assert(result.check.passed, result.check.description);
    assertStringIncludes(result.check.description, "on 10 of 10 test queries");
    assertEquals(result.metrics.mrr_10, 1);
    assertEquals(result.metrics.ndcg_10, 1);
    assertEquals([result.metrics.ndcg_10_ci95_low, result.metrics.ndcg_10_ci95_high], [1, 1]);
    assert(result.metrics.index_bytes > 0);
    trial.dispose();
  }
  prepared.dispose();
});

Deno.test("a retrieval task's quality intervals over queries hold the point figures", async () => {
  const task = retrievalTaskImpl("toy-retrieval", () => Promise.resolve(toyCollection(true)));
  const prepared = await task.prepare(caseParams, ctx);
  const trial = await prepared.bind(bm25, params);
  const result = await trial.finish();
  const reference = await prepared.referenceMetrics(bm25, params);
  for (const name of ["ndcg_10", "mrr_10", "recall_100"]) {
    const [low, point, high] = [`${name}_ci95_low`, name, `${name}_ci95_high`].map((m) =>
      result.metrics[m]
    );
    assert(low <= point && point <= high, `${name}: ${low} ≤ ${point} ≤ ${high}`);
    assertEquals(reference[`${name}_ci95_low`], low);
  }
  assert(result.metrics.mrr_10 < 1, "vague queries miss");
  assert(result.metrics.mrr_10_ci95_low < result.metrics.mrr_10_ci95_high);
  trial.dispose();
  prepared.dispose();
});

Deno.test("a method whose top-k differs from its reference fails the gate", async () => {
  const inner = bm25.impl;
  const broken = defineRetrievalMethod({
    ...bm25.meta,
    parameters: BM25_PARAMS,
    id: "broken-bm25",
    impl: {
      async build(corpus, p, c) {
        const index = await inner.build(corpus, p, c);
        return {
          ...index,
          search(q, k) {
            const r = index.search(q, k);
            return {
              ...r,
              docs: r.docs.slice().reverse(),
              scores: r.scores.slice().reverse().sort((a, b) => b - a),
            };
          },
        };
      },
    },
  });
  const task = retrievalTaskImpl("toy-retrieval", () => Promise.resolve(toyCollection()));
  const prepared = await task.prepare(caseParams, ctx);
  const trial = await prepared.bind(broken, params);
  const result = await trial.finish();
  assertEquals(result.check.passed, false);
  assertStringIncludes(result.check.description, "top-k differs from the reference");
});

Deno.test("a retrieval case that keeps the whole collection says 'all' in its label", () => {
  assertEquals(
    paramsLabel({ docs: 0, queries: 0, batch: 50 }, SAMPLE_PARAMS),
    "docs=all,queries=all,batch=50",
  );
  assertEquals(
    paramsLabel({ docs: 600, queries: 100, batch: 25 }, SAMPLE_PARAMS),
    "docs=600,queries=100,batch=25",
  );
});
