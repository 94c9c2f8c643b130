// The top-k oracle beyond llvmpipe's loop limit (its shared shapes run in attention_gpu_test.ts).
import { testGpu } from "../../tests/gpu.ts";
import { expectMatchesReference } from "./gpu_test_support.ts";
import { topkOracleAttention } from "./topk_oracle.ts";

Deno.test({
  name: "topk-oracle-attention: rows seeing more keys than llvmpipe's 65,535 loop iterations allow",
  ignore: testGpu === null,
  async fn() {
    // In one pass the select and attend loops of a row stopped short past about 10,600 keys.
    await expectMatchesReference(
      topkOracleAttention.impl,
      [{ density: 0.1 }],
      [{ heads: 1, seq: 12000, headDim: 32, causal: true, queries: 2 }],
    );
  },
});
