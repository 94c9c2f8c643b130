import { assert, assertEquals } from "../../tests/assert.ts";
import { testGpu } from "../../tests/gpu.ts";
import { defaultParams } from "../../bench/metadata.ts";
import { mulberry32 } from "../../bench/random.ts";
import { bm25WebGpuCsr } from "./bm25_webgpu_csr.ts";

function randomCorpus(seed: number, docs: number) {
  const u = mulberry32(seed);
  const word = () => `w${Math.floor(200 * u() ** 2)}`;
  const texts = Array.from(
    { length: docs },
    () => Array.from({ length: 1 + Math.floor(u() * 9) }, word).join(" "),
  );
  return { ids: texts.map((_, i) => `d${i}`), texts };
}

Deno.test({
  name: "bm25-webgpu-csr returns the CPU reference's exact top-k for batches of queries",
  ignore: testGpu === null,
  async fn() {
    const corpus = randomCorpus(7, 1037);
    const params = {
      ...defaultParams(bm25WebGpuCsr.meta.parameters),
      stem: false,
      stopwords: "none",
    };
    const index = await bm25WebGpuCsr.impl.build(corpus, params, {
      train: [],
      seed: 1,
      corpusKey: "t",
      gpu: testGpu,
    });
    try {
      const u = mulberry32(3);
      const queries = Array.from(
        { length: 37 },
        () =>
          Array.from({ length: 1 + Math.floor(u() * 4) }, () => `w${Math.floor(200 * u())}`).join(
            " ",
          ),
      );
      queries.push("", "unknownword");
      for (const k of [1, 10, 100]) {
        const got = await index.searchBatch!(queries, k);
        queries.forEach((q, i) => {
          const ref = index.reference!.search(q, k);
          assertEquals([...got[i].docs], [...ref.docs], `'${q}' k=${k}`);
          assertEquals([...got[i].scores], [...ref.scores]);
        });
      }
      assertEquals(index.config.path, "webgpu-csr");
      assert(index.sizeBytes > 0);
    } finally {
      index.dispose();
    }
  },
});
