// Block-sparse select and attend against their CPU references: a test-only method whose block
// scores are seeded numbers on a coarse grid (so many ties, which must go to the lower block),
// on odd and even shapes and at 256 key blocks, where a select at density 1 kept one block, and
// with query blocks of other sizes than key blocks (one row each, as Quest selects per query, or a
// divisor of the key block, so that no query block straddles two key blocks in prefill).
import { testGpu } from "../../../tests/gpu.ts";
import { uploadStorage } from "../../gpu/buffers.ts";
import { mulberry32 } from "../../random.ts";
import { assertEquals, assertThrows } from "../../../tests/assert.ts";
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

type TestParams = { density: number; blockSize: number; queryBlock?: number };

/** Seeded block scores (heads × query blocks × key blocks), eight levels apart: ties abound. */
function scoresOf(shape: AttentionShape, block: number, queryBlock = block): Float32Array {
  const { blocks, queryBlocks } = blockGeometry(shape, block, queryBlock);
  const uniform = mulberry32(shape.seq * 17 + block + 1000 * queryBlock);
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
    const seeded = scoresOf(shape, params.blockSize, params.queryBlock);
    return setupBlockSparse(gpu, {
      shape,
      inputs,
      block: params.blockSize,
      queryBlock: params.queryBlock,
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
    const queryBlock = params.queryBlock ?? params.blockSize;
    const geometry = blockGeometry(shape, params.blockSize, queryBlock);
    const seeded = scoresOf(shape, params.blockSize, queryBlock);
    const qb = Math.floor(row / queryBlock);
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

Deno.test("blockGeometry() blocks query rows apart from keys: each row's own block and view", () => {
  // Decoding: 5 queries at positions 295..299 of 300 keys in blocks of 64 (the last holds 44).
  const decoding = { heads: 1, seq: 300, headDim: 4, causal: true, queries: 5 };
  const perRow = blockGeometry(decoding, 64, 1);
  assertEquals([perRow.blocks, perRow.queryBlocks, perRow.queryBlock], [5, 5, 1]);
  assertEquals([0, 4].map((qb) => [perRow.own(qb), perRow.visible(qb)]), [[4, 5], [4, 5]]);
  // Prefill, causal, 10 keys in blocks of 4 and query blocks of 3 rows: rows 6..8 end at
  // position 8, in key block 2; the last query block is row 9 alone.
  const prefill = { heads: 1, seq: 10, headDim: 4, causal: true };
  const odd = blockGeometry(prefill, 4, 3);
  assertEquals([odd.queryBlocks, odd.own(2), odd.visible(2), odd.own(3)], [4, 2, 3, 2]);
  // The default is the square tile, as before query blocks had a size of their own.
  const square = blockGeometry(prefill, 4);
  assertEquals([square.queryBlock, square.queryBlocks, square.own(1)], [4, 3, 1]);
  assertThrows(() => blockGeometry(prefill, 4, 0), RangeError, "'queryBlock' must be a positive");
});

Deno.test({
  name:
    "block-sparse: a selection per query row (or per smaller query block) equals the CPU reference",
  ignore: testGpu === null,
  async fn() {
    await expectMatchesReference(testGpu!, testMethod, {
      params: [
        { density: 0.3, blockSize: 16, queryBlock: 1 },
        { density: 0.2, blockSize: 8, queryBlock: 4 },
        { density: 1, blockSize: 32, queryBlock: 1 },
      ],
    });
    // At 256 key blocks (radix-selected boundary at 0.7), one selection per decoding query.
    await expectMatchesReference(testGpu!, testMethod, {
      params: [{ density: 0.7, blockSize: 4, queryBlock: 1 }, {
        density: 0.1,
        blockSize: 4,
        queryBlock: 1,
      }],
      shapes: [{ heads: 2, seq: 1027, headDim: 8, causal: true, queries: 9 }],
    });
  },
});
