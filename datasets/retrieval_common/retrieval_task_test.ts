import { assert, assertEquals, assertStringIncludes } from "../../tests/assert.ts";
import { defaultParams, defineMethod } from "../../bench/metadata.ts";
import type { TaskContext } from "../../bench/plugin.ts";
import { bm25 } from "../../methods/retrieval/bm25.ts";
import { bm25BlockMaxWand } from "../../methods/retrieval/bm25_block_max_wand.ts";
import type { RetrievalMethod } from "../../methods/retrieval/interface.ts";
import type { Collection } from "./collection.ts";
import { retrievalTaskImpl } from "./retrieval_task.ts";

const WORDS = ["apple", "river", "stone", "cloud", "music", "paper", "glass", "tiger", "bread"];

function toyCollection(): Collection {
  const texts = Array.from(
    { length: 60 },
    (_, i) => `${WORDS[i % 9]} ${WORDS[(i * 7) % 9]} ${WORDS[(i * 5 + 1) % 9]} item${i}`,
  );
  const queries = Array.from({ length: 20 }, (_, i) => ({
    id: `q${i}`,
    text: `${WORDS[(i * 3) % 9]} item${i * 2}`,
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

const ctx: TaskContext = { gpu: null, seed: 1, profile: "smoke", dump: false };
const caseParams = { docs: 0, queries: 0, batch: 4 };
const params = { ...defaultParams(bm25.meta.parameters), stem: false, stopwords: false };

Deno.test("a retrieval task times, scores and gates a method against its reference", async () => {
  const task = retrievalTaskImpl("toy-retrieval", () => Promise.resolve(toyCollection()));
  const prepared = await task.prepare(caseParams, ctx);
  for (const method of [bm25, bm25BlockMaxWand]) {
    const trial = await prepared.bind(method, params);
    const sample = await trial.sample();
    assertEquals(sample.reps, 4);
    assert(sample.wallMs >= 0);
    const result = await trial.finish();
    assert(result.check.passed, result.check.description);
    assertStringIncludes(result.check.description, "on 10 of 10 test queries");
    assertEquals(result.metrics.mrr_10, 1);
    assertEquals(result.metrics.ndcg_10, 1);
    assert(result.metrics.index_bytes > 0);
    trial.dispose();
  }
  prepared.dispose();
});

Deno.test("a method whose top-k differs from its reference fails the gate", async () => {
  const inner = bm25.impl as RetrievalMethod;
  const broken = defineMethod<RetrievalMethod>({
    ...bm25.meta,
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
