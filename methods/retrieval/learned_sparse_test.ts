import { assert, assertEquals } from "../../tests/assert.ts";
import { defaultParams } from "../../bench/metadata.ts";
import type { TrainingQuery } from "../../bench/families/retrieval/mod.ts";
import { learnedSparse } from "./learned_sparse.ts";

const corpus = {
  ids: ["bank-river", "bank-money", "bass-fish", "bass-music"],
  texts: [
    "bank: sloping land beside a body of water",
    "bank: a financial institution that accepts deposits",
    "bass: the lean flesh of a saltwater fish",
    "bass: the lowest part of the musical range",
  ],
};
const train: TrainingQuery[] = [
  { id: "t1", text: "they pulled the canoe up on the bank", relevant: [0] },
  { id: "t2", text: "he cashed a check at the bank", relevant: [1] },
  { id: "t3", text: "we caught a striped bass near the pier", relevant: [2] },
  { id: "t4", text: "she played the bass in a jazz band", relevant: [3] },
];

Deno.test("learned-sparse-idf learns expansion terms from train queries and searches exactly", async () => {
  const params = {
    ...defaultParams(learnedSparse.meta.parameters),
    stem: false,
    stopwords: "none",
    epochs: 5,
  };
  const index = await learnedSparse.impl.build(corpus, params, {
    train,
    seed: 1,
    corpusKey: "t",
  });
  assert(index.stats.expansion_terms > 0, "some expansion terms");
  assert(index.stats.nonzeros_per_doc > 0);
  // "canoe" is in no document: only the learned expansion of doc 0 can answer it.
  assertEquals(index.search("canoe", 10).docs[0], 0);
  for (const q of ["jazz bass", "check", "fish", "water bank"]) {
    const got = index.search(q, 3);
    const ref = index.reference!.search(q, 3);
    assertEquals([...got.docs], [...ref.docs]);
  }
});
