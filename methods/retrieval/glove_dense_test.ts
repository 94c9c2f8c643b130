import { assert, assertAlmostEquals, assertEquals } from "../../tests/assert.ts";
import { testGpu } from "../../tests/gpu.ts";
import { gloveDense, meanVector } from "./glove_dense.ts";
import type { RetrievalMethod } from "./interface.ts";

Deno.test("meanVector() averages known non-stopwords and normalizes", () => {
  const lookup = new Map([["cat", 0], ["dog", 1], ["the", 2]]);
  const vectors = Float32Array.of(1, 0, 0, 1, 5, 5);
  const out = new Float32Array(2);
  assert(meanVector("The cat, the dog!", lookup, vectors, 2, new Set(["the"]), out));
  assertAlmostEquals(out[0], Math.SQRT1_2, 1e-6);
  assertAlmostEquals(out[1], Math.SQRT1_2, 1e-6);
  assertEquals(meanVector("unknown words", lookup, vectors, 2, new Set(), out), false);
});

Deno.test({
  name: "glove-mean-cosine on WebGPU agrees with its CPU reference",
  // Needs a GPU and the 307 MB vectors package; both are optional on a developer machine.
  ignore: testGpu === null ||
    !Deno.env.get("SPARSEBENCH_GLOVE_TEST"),
  async fn() {
    const corpus = {
      ids: ["a", "b", "c", "d"],
      texts: ["a cat sat on the mat", "stock markets fell", "dogs and puppies", "rain and snow"],
    };
    const index = await (gloveDense.impl as RetrievalMethod).build(corpus, { vocabulary: 20_000 }, {
      train: [],
      seed: 1,
      corpusKey: "t",
      gpu: testGpu,
    });
    try {
      const got = await index.searchBatch!(["cat", "weather", "finance"], 2);
      assertEquals(got.slice(1).map((r) => r.docs[0]), [3, 1]);
      for (const [i, q] of ["cat", "weather", "finance"].entries()) {
        const ref = index.reference!.search(q, 2);
        assertEquals([...got[i].docs], [...ref.docs]);
      }
    } finally {
      index.dispose();
    }
  },
});
