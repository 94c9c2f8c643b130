import { assert, assertAlmostEquals, assertEquals } from "../../tests/assert.ts";
import type { BuildContext, RetrievalMethod } from "../../bench/families/retrieval/mod.ts";
import { defaultParams, type Method } from "../../bench/metadata.ts";
import { bm25 } from "./bm25.ts";
import { queryLikelihood } from "./query_likelihood.ts";
import { bm25Rm3 } from "./rm3.ts";
import { tfidfCosine } from "./tfidf_cosine.ts";

const corpus = {
  ids: ["a", "b", "c", "d"],
  texts: ["red apple red", "green apple", "red car fast car", "blue sky"],
};
const ctx: BuildContext = { train: [], seed: 1, corpusKey: "test" };
const plain = { stem: false, stopwords: "none" };

Deno.test("query likelihood, TF-IDF cosine and RM3 rank as hand-worked and match their references", async () => {
  const run = async (method: Method<RetrievalMethod>, q: string) => {
    const index = await method.impl.build(
      corpus,
      { ...defaultParams(method.meta.parameters), ...plain },
      ctx,
    );
    const got = index.search(q, 10);
    const ref = index.reference!.search(q, 10);
    assertEquals([...got.docs], [...ref.docs]);
    assertEquals([...got.scores], [...ref.scores]);
    return got;
  };
  // QL: "red" in docs 0 (tf 2 of 3) and 2 (tf 1 of 4); p(red|C) = 3/11, μ = 1000.
  const ql = await run(queryLikelihood, "red");
  assertEquals([...ql.docs], [0, 2]);
  const mu = 1000, pc = 3 / 11;
  assertAlmostEquals(ql.scores[0], Math.log(1 + 2 / (mu * pc)) + Math.log(mu / (3 + mu)), 1e-6);
  // Cosine of "red apple" with doc 0 (ltc): ranks doc 0 first, then 1 and 2.
  const cos = await run(tfidfCosine, "red apple");
  assertEquals(cos.docs[0], 0);
  assert(cos.scores[0] <= Math.hypot(...[1, 1].map(() => Math.log(2))) + 1e-9);
  // RM3 on "apple": both apple documents first (the shorter one ahead), then feedback terms
  // ("red", from doc 0) reach doc 2, which has no "apple".
  const rm3 = await run(bm25Rm3, "apple");
  assertEquals([...rm3.docs], [1, 0, 2]);
  await run(bm25, "red apple");
});
