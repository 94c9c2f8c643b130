// Every attention kernel against its plain CPU reference, on several shapes including odd ones.
import { assert } from "../../tests/assert.ts";
import { testGpu } from "../../tests/gpu.ts";
import type { ParamValues } from "../../bench/metadata.ts";
import { expectMatchesReference } from "../../bench/families/attention/mod.ts";
import { attentionMethods } from "./mod.ts";

const PARAMS: Record<string, ParamValues[]> = {
  "dense-attention": [{}],
  "dense-attention-per-query": [{}],
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
  "nosa-trained-attention": "nosa_trained_test.ts",
  "dynamic-mask-attention": "dynamic_mask_test.ts",
  "dynamic-mask-trained-attention": "dynamic_mask_trained_test.ts",
  "sparsed-attention": "sparsed_test.ts",
  "adaspa-attention": "adaspa_test.ts",
  "asa-attention": "asa_test.ts",
  "seer-learned-attention": "seer_learned_test.ts",
  "dhsa-attention": "dhsa_test.ts",
  "dhsa-trained-attention": "dhsa_trained_test.ts",
  "sparse-vdit-attention": "sparse_vdit_test.ts",
};

for (const method of attentionMethods) {
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
      await expectMatchesReference(testGpu!, method.impl, { params: paramSets });
    },
  });
}
