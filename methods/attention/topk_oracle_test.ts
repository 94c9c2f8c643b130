// The top-k oracle beyond llvmpipe's loop limit (its shared shapes run in attention_gpu_test.ts).
import { testGpu } from "../../tests/gpu.ts";
import { assertEquals } from "../../tests/assert.ts";
import { expectMatchesReference } from "../../bench/families/attention/mod.ts";
import { recordWords, topkOracleAttention } from "./topk_oracle.ts";

Deno.test({
  name: "topk-oracle-attention: rows seeing more keys than llvmpipe's 65,535 loop iterations allow",
  ignore: testGpu === null,
  async fn() {
    // In one pass the select and attend loops of a row stopped short past about 10,600 keys.
    await expectMatchesReference(testGpu!, topkOracleAttention.impl, {
      params: [{ density: 0.1 }],
      shapes: [{ heads: 1, seq: 12000, headDim: 32, causal: true, queries: 2 }],
    });
  },
});

Deno.test("recordWords() keeps a bit per visible key and row up to 64 MiB, none beyond", () => {
  assertEquals(recordWords({ heads: 8, seq: 8192, headDim: 64, causal: true }), 256);
  assertEquals(recordWords({ heads: 1, seq: 33, headDim: 16, causal: false }), 2);
  // Decoding keeps few rows: 16 queries of a 32,768-key cache fit.
  assertEquals(recordWords({ heads: 8, seq: 32768, headDim: 64, causal: true, queries: 16 }), 1024);
  assertEquals(recordWords({ heads: 8, seq: 16384, headDim: 64, causal: true }), 0);
});
