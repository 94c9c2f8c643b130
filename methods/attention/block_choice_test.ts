// Block-sparse kernels leave their choice readable (AttentionKernel.blockChoice): what the kernel
// chose, read back after the run, is the CPU reference's selection on every row not on a tie.
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

const BLOCK_METHODS: Record<string, ParamValues> = {
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
};

for (const method of attentionMethods.filter((m) => m.meta.id in BLOCK_METHODS)) {
  Deno.test({
    name: `${method.meta.id}: the kernel's read-back block choice is the CPU selection`,
    ignore: testGpu === null,
    async fn() {
      const params = BLOCK_METHODS[method.meta.id];
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
