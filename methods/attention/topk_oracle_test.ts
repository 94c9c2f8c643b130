// The top-k oracle beyond llvmpipe's loop limit (its shared shapes run in attention_gpu_test.ts),
// and its record of the keys it took split over chunks and bitmaps.
import { testGpu } from "../../tests/gpu.ts";
import { assert, assertEquals } from "../../tests/assert.ts";
import { uploadStorage } from "../../bench/gpu/buffers.ts";
import {
  checkAgainstReference,
  executeOnce,
  expectMatchesReference,
  randomInputs,
  readResults,
} from "../../bench/families/attention/mod.ts";
import { recordLayout, setupTopkOracle, topkOracleAttention } from "./topk_oracle.ts";

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

Deno.test("recordLayout() keeps a bit per visible key and row up to 256 MiB, none beyond", () => {
  const prefill = (seq: number) => ({ heads: 8, seq, headDim: 64, causal: true });
  // 384 rows of scores a chunk at 8,192 keys, 3 MiB of record: 21 whole chunks fill a bitmap.
  assertEquals(recordLayout(prefill(8192)), { words: 256, rowsPerBitmap: 8064, bitmaps: 2 });
  // 192 rows a chunk at 16,384 keys, again 21 chunks a bitmap.
  assertEquals(recordLayout(prefill(16384)), { words: 512, rowsPerBitmap: 4032, bitmaps: 5 });
  assertEquals(recordLayout(prefill(16400)), null);
  // Decoding keeps few rows: 16 queries of a 32,768-key cache fit one.
  assertEquals(
    recordLayout({ ...prefill(32768), queries: 16 }),
    { words: 1024, rowsPerBitmap: 16, bitmaps: 1 },
  );
});

Deno.test({
  name: "topk-oracle-attention: the taken-key record over several chunks and bitmaps",
  ignore: testGpu === null,
  async fn() {
    const shape = { heads: 2, seq: 203, headDim: 16, causal: true };
    // 16 rows of scores a chunk, 32 rows of record a bitmap: 13 chunks, 7 bitmaps, the last of 11.
    const sizes = { scratchBytes: 2 * 203 * 4 * 16, bitmapBytes: 2 * 7 * 4 * 32, totalBytes: 1e9 };
    assertEquals(recordLayout(shape, sizes), { words: 7, rowsPerBitmap: 32, bitmaps: 7 });
    const params = { density: 0.2 };
    const inputs = randomInputs(shape, 12);
    const problem = { shape, inputs, params };
    const uploaded = {
      q: uploadStorage(testGpu!.device, inputs.q, "q"),
      k: uploadStorage(testGpu!.device, inputs.k, "k"),
      v: uploadStorage(testGpu!.device, inputs.v, "v"),
    };
    const kernel = await setupTopkOracle(testGpu!, { ...problem, inputs: uploaded }, sizes);
    try {
      await executeOnce(testGpu!, kernel);
      const result = await readResults(testGpu!, kernel, shape);
      const verdict = checkAgainstReference(topkOracleAttention.impl, problem, result);
      assert(verdict.passed, verdict.problems.join("; "));
      let compared = 0;
      for (let head = 0; head < shape.heads; head++) {
        for (let row = 0; row < shape.seq; row++) {
          if (topkOracleAttention.impl.ambiguousRow!(problem, head, row)) continue;
          assertEquals(
            [...result.selection!(head, row)],
            [...topkOracleAttention.impl.selectKeys(problem, head, row)],
          );
          compared++;
        }
      }
      assert(compared > shape.heads * shape.seq * 0.9);
    } finally {
      kernel.dispose();
      for (const b of Object.values(uploaded)) b.destroy();
    }
  },
});
