import { assert, assertEquals, assertRejects } from "../../tests/assert.ts";
import {
  buildBm25Index,
  type BuildContext,
  type TrainingQuery,
} from "../../bench/families/retrieval/mod.ts";
import { defaultParams } from "../../bench/metadata.ts";
import {
  bm25TrainTuned,
  cachedTuneBm25,
  meanNdcg10,
  tuneBm25,
  TUNING_GRID,
  tuningQueries,
} from "./bm25_train_tuned.ts";

// Only stemming finds the right document: the queries' inflections are absent from the corpus
// ("cats sleeping" vs "cat sleeps"), and decoys hold the surface forms.
const corpus = {
  ids: ["d0", "d1", "d2", "d3", "d4", "d5"],
  texts: [
    "the cat sleeps on a mat",
    "cats sleeping cats",
    "a dog barks at night",
    "dogs barking loudly in the yard",
    "the bird sings",
    "birds singing at dawn birds",
  ],
};
const train: TrainingQuery[] = [
  { id: "t1", text: "cat sleep", relevant: [1] },
  { id: "t2", text: "dog bark", relevant: [3] },
  { id: "t3", text: "bird sing", relevant: [5] },
];

Deno.test("tuneBm25() keeps the grid point best on the training queries, and it is the best", async () => {
  const tuning = await tuneBm25(corpus, train);
  assertEquals(tuning.best.stem, true);
  assertEquals(tuning.queries, 3);
  // Stage one tries every analyzer at 2 × 2 corners, stage two 5 × 5 for the best analyzer.
  const analyzers = TUNING_GRID.stem.length * TUNING_GRID.stopwords.length;
  assertEquals(tuning.configs, analyzers * 4 + 25 - 4);
  // No point of the whole grid beats it on the training queries.
  for (const stem of TUNING_GRID.stem) {
    for (const stopwords of TUNING_GRID.stopwords) {
      for (const k1 of TUNING_GRID.k1) {
        for (const b of TUNING_GRID.b) {
          const index = await buildBm25Index(corpus, {
            k1,
            b,
            stem,
            stopwords,
            algorithm: "maxscore",
          });
          const ndcg = meanNdcg10(index, train, corpus.ids);
          assert(ndcg <= tuning.ndcg10 + 1e-12, `${JSON.stringify({ k1, b, stem, stopwords })}`);
        }
      }
    }
  }
});

Deno.test("bm25-train-tuned answers as exhaustive BM25 at the tuned point and says what it chose", async () => {
  const ctx: BuildContext = { train, seed: 3, corpusKey: "test" };
  const index = await bm25TrainTuned.impl.build(
    corpus,
    defaultParams(bm25TrainTuned.meta.parameters),
    ctx,
  );
  const s = index.stats;
  assertEquals(s.tuned_stem, 1);
  assertEquals(s.tuning_queries, 3);
  const same = await buildBm25Index(corpus, {
    k1: s.tuned_k1,
    b: s.tuned_b,
    stem: true,
    stopwords: TUNING_GRID.stopwords[s.tuned_stopwords_list],
    algorithm: "exhaustive",
  });
  for (const q of ["cat sleep", "dogs", "singing birds at dawn"]) {
    assertEquals(index.search(q, 10), same.search(q, 10));
  }
  await assertRejects(
    () =>
      bm25TrainTuned.impl.build(corpus, defaultParams(bm25TrainTuned.meta.parameters), {
        ...ctx,
        train: [],
      }),
    Error,
    "no training query",
  );
});

Deno.test("tuningQueries() is a seeded subset: the same for a seed, another for another seed", () => {
  const many = Array.from({ length: 50 }, (_, i) => ({ id: `q${i}`, text: "x", relevant: [0] }));
  const a = tuningQueries(many, 10, 1).map((q) => q.id);
  assertEquals(tuningQueries(many, 10, 1).map((q) => q.id), a);
  assertEquals(new Set(a).size, 10);
  assert(tuningQueries(many, 10, 2).map((q) => q.id).join() !== a.join());
  assertEquals(tuningQueries(many, 0, 1).length, 50);
});

Deno.test("cachedTuneBm25() reuses a tuning of the same corpus and queries, and only those", async () => {
  const unique = { ...corpus, texts: [...corpus.texts.slice(0, 5), `birds singing ${Date.now()}`] };
  const first = await cachedTuneBm25(unique, train);
  const again = await cachedTuneBm25(unique, train);
  assertEquals(first.cached, false);
  assertEquals(again.cached, true);
  assertEquals(again.best, first.best);
  assertEquals(again.ms, first.ms);
  const otherQueries = await cachedTuneBm25(unique, train.slice(0, 2));
  assertEquals(otherQueries.cached, false);
});
