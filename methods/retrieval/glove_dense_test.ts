import { assert, assertAlmostEquals, assertEquals, assertRejects } from "../../tests/assert.ts";
import { testGpu } from "../../tests/gpu.ts";
import type { BuildContext, WordVectors } from "../../bench/families/retrieval/mod.ts";
import { gloveDense, meanVector } from "./glove_dense.ts";

Deno.test("meanVector() averages known non-stopwords and normalizes", () => {
  const table = {
    lookup: new Map([["cat", 0], ["dog", 1], ["the", 2]]),
    vectors: Float32Array.of(1, 0, 0, 1, 5, 5),
    dim: 2,
    stop: new Set(["the"]),
  };
  const out = new Float32Array(2);
  assert(meanVector("The cat, the dog!", table, out));
  assertAlmostEquals(out[0], Math.SQRT1_2, 1e-6);
  assertAlmostEquals(out[1], Math.SQRT1_2, 1e-6);
  assertEquals(meanVector("unknown words", { ...table, stop: new Set() }, out), false);
});

// Four topics on four axes (animals, finance, weather, furniture) and a little noise, so the
// expected neighbours are plain; the task side would supply GloVe here.
const TOPICS: Record<string, number> = {
  cat: 0,
  dogs: 0,
  puppies: 0,
  stock: 1,
  markets: 1,
  fell: 1,
  finance: 1,
  rain: 2,
  snow: 2,
  weather: 2,
  sat: 3,
  mat: 3,
};
const words = Object.keys(TOPICS);
const vectors: WordVectors = {
  words,
  vectors: Float32Array.from(
    { length: words.length * 8 },
    (_, i) => (i % 8 === TOPICS[words[Math.floor(i / 8)]] ? 1 : 0) + 0.01 * ((i * 7) % 5),
  ),
  dim: 8,
  source: "test table",
};
const corpus = {
  ids: ["a", "b", "c", "d"],
  texts: ["a cat sat on the mat", "stock markets fell", "dogs and puppies", "rain and snow"],
};
const context = (gpu: BuildContext["gpu"]): BuildContext => ({
  train: [],
  seed: 1,
  corpusKey: "t",
  gpu,
  wordVectors: (count) => Promise.resolve({ ...vectors, words: vectors.words.slice(0, count) }),
});

Deno.test("glove-mean-cosine ranks by cosine of mean vectors from the task's word vectors", async () => {
  const index = await gloveDense.impl.build(corpus, { vocabulary: 1000 }, context(null));
  try {
    assertEquals(index.search("weather", 2).docs[0], 3);
    assertEquals(index.search("finance", 2).docs[0], 1);
    assertEquals(index.search("unknown", 2).docs.length, 0);
    assertEquals(index.config.vectors, "test table");
  } finally {
    index.dispose();
  }
});

Deno.test("glove-mean-cosine says so when the task provides no word vectors", async () => {
  await assertRejects(
    () =>
      gloveDense.impl.build(corpus, { vocabulary: 1000 }, { train: [], seed: 1, corpusKey: "t" }),
    Error,
    "needs word vectors",
  );
});

Deno.test({
  name: "glove-mean-cosine on WebGPU agrees with its CPU reference",
  ignore: testGpu === null,
  async fn() {
    const index = await gloveDense.impl.build(corpus, { vocabulary: 1000 }, context(testGpu));
    try {
      const queries = ["cat", "weather", "finance"];
      const got = await index.searchBatch!(queries, 2);
      assertEquals(got.slice(1).map((r) => r.docs[0]), [3, 1]);
      for (const [i, q] of queries.entries()) {
        const ref = index.reference!.search(q, 2);
        assertEquals([...got[i].docs], [...ref.docs]);
      }
    } finally {
      index.dispose();
    }
  },
});
