// Block-sparse select and attend against their CPU references: a test-only method whose block
// scores are seeded numbers on a coarse grid (so many ties, which must go to the lower block),
// on odd and even shapes and at 256 key blocks, where a select at density 1 kept one block.
import { testGpu } from "../../../tests/gpu.ts";
import { uploadStorage } from "../../gpu/buffers.ts";
import { mulberry32 } from "../../random.ts";
import {
  type AttentionMethod,
  type AttentionShape,
  BLOCK_WORKGROUP,
  blockGeometry,
  chooseBlocksFor,
  compilePipeline,
  expectMatchesReference,
  keysOfBlocks,
  setupBlockSparse,
} from "./mod.ts";

type TestParams = { density: number; blockSize: number };

/** Seeded block scores (heads × query blocks × key blocks), eight levels apart: ties abound. */
function scoresOf(shape: AttentionShape, block: number): Float32Array {
  const { blocks, queryBlocks } = blockGeometry(shape, block);
  const uniform = mulberry32(shape.seq * 17 + block);
  return Float32Array.from(
    { length: shape.heads * queryBlocks * blocks },
    () => Math.floor(uniform() * 8) / 8 - 0.5,
  );
}

// Copies the seeded scores into the scores buffer: the scoring "pass" of the test method.
const COPY_WGSL = /* wgsl */ `
@group(0) @binding(0) var<storage, read> seeded: array<f32>;
@group(0) @binding(1) var<storage, read_write> scores: array<f32>;
@compute @workgroup_size(${BLOCK_WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * 65535u * ${BLOCK_WORKGROUP}u;
  if (i < arrayLength(&seeded)) { scores[i] = seeded[i]; }
}`;

const testMethod: AttentionMethod<TestParams> = {
  setup(gpu, { shape, inputs, params }) {
    const seeded = scoresOf(shape, params.blockSize);
    return setupBlockSparse(gpu, {
      shape,
      inputs,
      block: params.blockSize,
      density: params.density,
      scoring: {
        async build({ gpu, scores, bind }) {
          const source = uploadStorage(gpu.device, seeded);
          const copy = await compilePipeline(gpu.device, COPY_WGSL, "test-copy-scores");
          const groups = Math.ceil(seeded.length / BLOCK_WORKGROUP);
          return {
            passes: [[copy.pipeline, bind(copy.pipeline, [source, scores]), [
              Math.min(groups, 65535),
              Math.ceil(groups / 65535),
              1,
            ]]],
            compileMs: 0,
            buffers: [source],
            extraFlops: 0,
          };
        },
      },
    });
  },
  selectKeys({ shape, params }, head, row) {
    const geometry = blockGeometry(shape, params.blockSize);
    const seeded = scoresOf(shape, params.blockSize);
    const qb = Math.floor(row / params.blockSize);
    const at = (head * geometry.queryBlocks + qb) * geometry.blocks;
    const chosen = chooseBlocksFor(geometry, params.density, qb, (kb) => seeded[at + kb]);
    return keysOfBlocks(shape, params.blockSize, chosen, row);
  },
  nominalDensity: (_, params) => params.density,
};

Deno.test({
  name: "block-sparse: GPU select (ties to the lower block) and attend equal the CPU reference",
  ignore: testGpu === null,
  async fn() {
    await expectMatchesReference(testGpu!, testMethod, {
      params: [
        { density: 0.3, blockSize: 16 },
        { density: 0.05, blockSize: 8 },
        { density: 1, blockSize: 32 },
      ],
    });
  },
});

Deno.test({
  name: "block-sparse: GPU select keeps every one of 256 key blocks at density 1",
  ignore: testGpu === null,
  async fn() {
    // Choosing the 255 best of 255 blocks one at a time looped 255 × 256 times in one
    // invocation, past the 65,535 iterations llvmpipe runs. At 0.7 the boundary comes from the
    // radix select, at 0.1 from taking blocks one at a time.
    await expectMatchesReference(testGpu!, testMethod, {
      params: [
        { density: 1, blockSize: 4 },
        { density: 0.7, blockSize: 4 },
        { density: 0.1, blockSize: 4 },
      ],
      shapes: [
        { heads: 1, seq: 1024, headDim: 4, causal: false },
        { heads: 1, seq: 1027, headDim: 8, causal: true, queries: 9 },
      ],
    });
  },
});
