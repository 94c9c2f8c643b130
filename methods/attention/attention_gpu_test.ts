// Every attention kernel against its plain CPU reference, on several shapes including odd ones.
import { assert } from "../../tests/assert.ts";
import { testGpu } from "../../tests/gpu.ts";
import type { Method, ParamValues } from "../../bench/metadata.ts";
import type { AttentionMethod } from "./interface.ts";
import { attendRow } from "./reference.ts";
import { attentionMethods } from "./mod.ts";
import { expectMatchesReference, randomInputs, runOnGpu } from "./gpu_test_support.ts";

const PARAMS: Record<string, ParamValues[]> = {
  "dense-attention": [{}],
  "ort-wasm-dense-attention": [{}],
  "ort-webgpu-dense-attention": [{}],
  "sliding-window-attention": [{ window: 1 }, { window: 16 }, { window: 100 }],
  "topk-oracle-attention": [{ density: 0.1 }, { density: 0.5 }, { density: 1 }],
  "seer-oracle-attention": [{ density: 0.3, blockSize: 16 }, { density: 0.1, blockSize: 8 }, {
    density: 1,
    blockSize: 32,
  }],
  "block-topk-attention": [{ density: 0.3, blockSize: 16 }, { density: 0.05, blockSize: 8 }, {
    density: 1,
    blockSize: 32,
  }],
  "sink-window-attention": [{ window: 1, sinks: 1 }, { window: 16, sinks: 4 }, {
    window: 50,
    sinks: 60,
  }, { window: 8, sinks: 0 }],
};

// Methods whose own test file runs expectMatchesReference (with its selection unit tests).
const OWN_TEST_FILE: Record<string, string> = {
  "routing-attention": "routing_test.ts",
  "hip-attention": "hip_test.ts",
  "vertical-slash-attention": "vertical_slash_test.ts",
  "anchor-attention": "anchor_attention_test.ts",
  "nosa-attention": "nosa_test.ts",
  "dynamic-mask-attention": "dynamic_mask_test.ts",
  "sparsed-attention": "sparsed_test.ts",
  "adaspa-attention": "adaspa_test.ts",
  "seer-learned-attention": "seer_learned_test.ts",
  "dhsa-attention": "dhsa_test.ts",
  "sparse-vdit-attention": "sparse_vdit_test.ts",
};

for (const method of attentionMethods as Method<AttentionMethod>[]) {
  const ownFile = OWN_TEST_FILE[method.meta.id];
  if (ownFile) {
    Deno.test(`${method.meta.id}: its own test file checks the GPU against the CPU`, async () => {
      const text = await Deno.readTextFile(new URL(ownFile, import.meta.url));
      assert(text.includes("expectMatchesReference("), `${ownFile} runs the shared check`);
    });
    continue;
  }
  Deno.test({
    name: `${method.meta.id}: GPU output equals the CPU reference on odd and even shapes`,
    ignore: testGpu === null,
    async fn() {
      const paramSets = PARAMS[method.meta.id];
      assert(paramSets, `the test names parameters for ${method.meta.id}`);
      await expectMatchesReference(method.impl, paramSets);
    },
  });
}

Deno.test({
  name: "banded kernel: a wrong CPU reference is caught (the comparison can fail)",
  ignore: testGpu === null,
  async fn() {
    const shape = { heads: 1, seq: 40, headDim: 32, causal: true };
    const inputs = randomInputs(shape, 7);
    const sliding = attentionMethods[1] as Method<AttentionMethod>;
    const { out } = await runOnGpu(sliding.impl, shape, inputs, { window: 8 });
    // Dense keys for row 39 are not what a window of 8 computed: the outputs must differ.
    const dense = attendRow(inputs, shape, 0, 39, Int32Array.from({ length: 40 }, (_, j) => j)).out;
    const row = out.subarray(39 * 32, 40 * 32);
    assert(row.some((x, i) => Math.abs(x - dense[i]) > 1e-3));
  },
});
