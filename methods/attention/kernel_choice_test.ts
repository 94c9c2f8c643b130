// Every kernel of ours leaves its choice readable (AttentionKernel.blockChoice, maskChoice,
// keyChoice, bandChoice): what the kernel chose, read back after the run, is the CPU reference's selection
// on every row not on a tie.
import { assert, assertEquals } from "../../tests/assert.ts";
import { testGpu } from "../../tests/gpu.ts";
import type { ParamValues } from "../../bench/metadata.ts";
import {
  type AttentionShape,
  queryCount,
  randomInputs,
  runOnGpu,
} from "../../bench/families/attention/mod.ts";
import { attentionMethods } from "./mod.ts";

const CAUSAL: AttentionShape = { heads: 2, seq: 203, headDim: 16, causal: true };
const DECODING: AttentionShape = { heads: 1, seq: 150, headDim: 16, causal: true, queries: 7 };
const STEPS: AttentionShape = { heads: 4, seq: 99, headDim: 16, causal: false, steps: 2 };

/** Every method whose kernel chooses on the GPU, with parameters that choose on small inputs. */
const CHOOSING: Record<string, ParamValues> = {
  "seer-oracle-attention": { density: 0.3, blockSize: 16 },
  "block-topk-attention": { density: 0.3, blockSize: 16 },
  "seer-learned-attention": {
    density: 0.3,
    blockSize: 16,
    gateDim: 8,
    trainSteps: 20,
    trainBlocks: 4,
  },
  "sparsed-attention": { density: 0.3, blockSize: 16, skip: 0.5 },
  "adaspa-attention": { recall: 0.8, searchEvery: 2, blockSize: 16 },
  "asa-attention": { threshold: 0.8, samples: 4, minRetain: 0, maxRetain: 1, blockSize: 16 },
  "hip-attention": {
    density: 0.2,
    blockSizeQ: 16,
    blockSizeK: 2,
    window: 8,
    representative: "middle",
  },
  "vertical-slash-attention": {
    density: 0.2,
    verticalShare: 0.5,
    lastQueries: 16,
    window: 8,
    sinks: 2,
  },
  "routing-attention": { clusters: 4, iterations: 2, window: 8 },
  "anchor-attention": { theta: 7, blockSize: 16, initTokens: 4, window: 8 },
  "dhsa-attention": { density: 0.2, threshold: 0.6, minChunk: 4, maxChunk: 16 },
  "dhsa-trained-attention": { density: 0.2, threshold: 0.5, minChunk: 4, maxChunk: 16 },
  "nosa-attention": { budget: 48, queryAwareShare: 0.5, blockSize: 8, window: 8, queryBlock: 1 },
  "nosa-trained-attention": {
    budget: 48,
    queryAwareShare: 0.5,
    blockSize: 8,
    window: 8,
    queryBlock: 1,
  },
  "dynamic-mask-attention": { keep: 24, window: 8 },
  "dynamic-mask-trained-attention": { keep: 24, window: 8 },
  // The per-row key bitmap of the attend stage, the band each row's invocation attended, the
  // block lists the attend pass read.
  "topk-oracle-attention": { density: 0.2 },
  "dense-attention": {},
  "dense-attention-per-query": {},
  "sliding-window-attention": { window: 24 },
  "sink-window-attention": { window: 24, sinks: 3 },
  "sparse-vdit-attention": { density: 0.3, blockSize: 16, threshold: 0.3, calibrationInputs: 2 },
};

// Methods whose choice is made elsewhere (the onnxruntime peers).
const NOT_READ_BACK = ["ort-wasm-dense-attention", "ort-webgpu-dense-attention"];

Deno.test("every attention method's choice is read back here or said not to be", () => {
  const missing = attentionMethods.map((m) => m.meta.id).filter((id) =>
    !(id in CHOOSING) && !NOT_READ_BACK.includes(id)
  );
  assertEquals(missing, []);
});

for (const method of attentionMethods.filter((m) => m.meta.id in CHOOSING)) {
  Deno.test({
    name: `${method.meta.id}: the kernel's read-back choice is the CPU selection`,
    ignore: testGpu === null,
    async fn() {
      const params = CHOOSING[method.meta.id];
      for (const shape of [CAUSAL, DECODING, STEPS]) {
        const problem = { shape, inputs: randomInputs(shape, 31), params };
        const result = await runOnGpu(testGpu!, method.impl, problem);
        assert(result.selection, `${method.meta.id} leaves no readable choice`);
        let compared = 0;
        for (let head = 0; head < shape.heads; head++) {
          for (let row = 0; row < queryCount(shape); row++) {
            if (method.impl.ambiguousRow?.(problem, head, row)) continue;
            assertEquals(
              [...result.selection(head, row)],
              [...method.impl.selectKeys(problem, head, row)],
              `${JSON.stringify(shape)} head ${head}, row ${row}`,
            );
            compared++;
          }
        }
        assert(compared > 0);
      }
    },
  });
}
