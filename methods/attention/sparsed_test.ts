import { assert, assertEquals } from "../../tests/assert.ts";
import { testGpu } from "../../tests/gpu.ts";
import {
  type AttentionInputs,
  type AttentionShape,
  expectMatchesReference,
  randomInputs,
} from "../../bench/families/attention/mod.ts";
import { denseSteps, sparsedAttention, sparsedPlan } from "./sparsed.ts";

const PARAMS = [
  { density: 0.3, blockSize: 16, skip: 0.2 },
  { density: 0.1, blockSize: 8, skip: 0.5 },
  { density: 1, blockSize: 32, skip: 0 },
];

/** Multi-step shapes: 3 steps of 1–2 heads, odd and even, prefill and decoding. */
const MULTISTEP_SHAPES: AttentionShape[] = [
  { heads: 6, seq: 130, headDim: 64, causal: false, steps: 3 },
  { heads: 3, seq: 201, headDim: 32, causal: true, steps: 3 },
  { heads: 6, seq: 190, headDim: 64, causal: false, queries: 70, steps: 3 },
];

Deno.test({
  name: "sparsed-attention: GPU output equals the CPU reference on odd and even shapes",
  ignore: testGpu === null,
  async fn() {
    await expectMatchesReference(testGpu!, sparsedAttention.impl, { params: PARAMS });
  },
});

Deno.test({
  name: "sparsed-attention: GPU equals the CPU reference over 3 steps (dense early, then reuse)",
  ignore: testGpu === null,
  async fn() {
    await expectMatchesReference(testGpu!, sparsedAttention.impl, {
      params: PARAMS,
      shapes: MULTISTEP_SHAPES,
      seedBase: 300,
    });
  },
});

Deno.test("denseSteps() rounds the skipped share and leaves the last step sparse", () => {
  assertEquals([denseSteps(6, 0.2), denseSteps(3, 0.2), denseSteps(1, 0.2), denseSteps(4, 1)], [
    1,
    1,
    0,
    3,
  ]);
});

Deno.test("sparsedPlan() runs early steps dense and points later ones at the pattern step", () => {
  const shape = { heads: 6, seq: 64, headDim: 4, causal: false, steps: 3 };
  // 2 heads × 3 steps, skip 0.2 → step 0 dense, step 1 computes the pattern, step 2 reuses it.
  assertEquals(sparsedPlan(shape, 0.25, 0.2), {
    source: [0, 1, 2, 3, 2, 3],
    density: [1, 1, 0.25, 0.25, 0.25, 0.25],
  });
});

/** One head whose query block 1 looks only at key block 3, whatever the step. */
function oneFarBlock(shape: AttentionShape, farBlock: number, block: number): AttentionInputs {
  const inputs = randomInputs(shape, 5);
  inputs.q.fill(0);
  inputs.k.fill(0);
  const d = shape.headDim;
  for (let slice = 0; slice < shape.heads; slice++) {
    for (let row = block; row < 2 * block; row++) inputs.q[(slice * shape.seq + row) * d] = 10;
    for (let j = farBlock * block; j < (farBlock + 1) * block; j++) {
      inputs.k[(slice * shape.seq + j) * d] = 10;
    }
  }
  return inputs;
}

Deno.test("sparsed-attention selects the block holding the mass, and reuses it at later steps", () => {
  const shape = { heads: 3, seq: 64, headDim: 8, causal: false, steps: 3 };
  const params = { density: 0.25, blockSize: 8, skip: 0.2 };
  const inputs = oneFarBlock(shape, 5, 8);
  // Step 0 is dense.
  assertEquals(sparsedAttention.impl.selectKeys({ shape, params, inputs }, 0, 9).length, 64);
  // Step 1: 2 of 8 blocks, its own (1) and the one holding the mass (5).
  const keys = [...sparsedAttention.impl.selectKeys({ shape, params, inputs }, 1, 9)];
  assertEquals(keys, [
    ...Array.from({ length: 8 }, (_, j) => 8 + j),
    ...Array.from({ length: 8 }, (_, j) => 40 + j),
  ]);
  // Step 2's q and k point elsewhere, yet it reuses step 1's pattern unchanged.
  const moved = oneFarBlock(shape, 6, 8);
  moved.q.set(inputs.q.subarray(0, 2 * 64 * 8));
  moved.k.set(inputs.k.subarray(0, 2 * 64 * 8));
  assertEquals([...sparsedAttention.impl.selectKeys({ shape, params, inputs: moved }, 2, 9)], keys);
  assert(sparsedAttention.impl.nominalDensity(shape, params) > 0.25);
});
