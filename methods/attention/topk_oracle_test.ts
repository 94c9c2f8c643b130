// The top-k oracle beyond llvmpipe's loop limit (its shared shapes run in attention_gpu_test.ts).
import { testGpu } from "../../tests/gpu.ts";
import { expectMatchesReference } from "../../bench/families/attention/mod.ts";
import { topkOracleAttention } from "./topk_oracle.ts";

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
