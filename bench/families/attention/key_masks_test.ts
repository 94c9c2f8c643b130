// The key-mask attend pass and top-k pass against their CPU references: a test-only method whose
// column, diagonal and per-block scores are seeded random numbers, so every mask section, the
// window, causal limits and the top-k selection are exercised together on odd and even shapes.
import { assert, assertEquals } from "../../../tests/assert.ts";
import { testGpu } from "../../../tests/gpu.ts";
import { uploadStorage } from "../../gpu/buffers.ts";
import { mulberry32 } from "../../random.ts";
import {
  type AttentionMethod,
  type AttentionShape,
  blockRowGroups,
  expectMatchesReference,
  maskWords,
  queryCount,
  selectedKeys,
  setupKeyMasks,
  topBoundaryIsNearTie,
  topIndices,
} from "./mod.ts";

const BLOCK = 16;

/** Seeded scores: per head over keys (columns), per head over offsets, per query block over keys. */
function scoresOf(shape: AttentionShape) {
  const uniform = mulberry32(shape.seq * 31 + shape.heads);
  const blocks = Math.ceil(queryCount(shape) / BLOCK);
  const make = (n: number) => Float32Array.from({ length: n }, () => uniform());
  return {
    columns: make(shape.heads * shape.seq),
    diagonals: make(shape.heads * shape.seq),
    groups: make(shape.heads * blocks * shape.seq),
    blocks,
  };
}

/** Keys each part of the selection keeps. */
type MaskParams = { columns: number; diagonals: number; perGroup: number; window: number };

function partsOf(shape: AttentionShape, params: MaskParams, head: number, row: number) {
  const s = scoresOf(shape);
  const n = shape.seq;
  const group = head * s.blocks + Math.floor(row / BLOCK);
  return {
    columns: topIndices(s.columns.subarray(head * n, (head + 1) * n), params.columns),
    diagonals: topIndices(s.diagonals.subarray(head * n, (head + 1) * n), params.diagonals),
    group: topIndices(s.groups.subarray(group * n, (group + 1) * n), params.perGroup),
    window: params.window,
  };
}

/** The test method; `rangeWords` sets the attend's key ranges (default: as long as they can be). */
function maskMethod(rangeWords?: number): AttentionMethod<MaskParams> {
  return {
    setup(gpu, { shape, inputs, params }) {
      const s = scoresOf(shape);
      const heads = shape.heads;
      const groups = heads * s.blocks;
      const keepsOf = (n: number, keep: number) =>
        uploadStorage(gpu.device, Uint32Array.from({ length: n }, () => keep));
      return setupKeyMasks(gpu, {
        shape,
        inputs,
        groups,
        rowGroups: blockRowGroups(shape, BLOCK),
        window: params.window,
        rangeWords,
        async build({ gpu, layout, topkPass }) {
          const columns = uploadStorage(gpu.device, s.columns);
          const diagonals = uploadStorage(gpu.device, s.diagonals);
          const perGroup = uploadStorage(gpu.device, s.groups);
          const keeps = [
            keepsOf(heads, params.columns),
            keepsOf(heads, params.diagonals),
            keepsOf(groups, params.perGroup),
          ];
          const n = shape.seq;
          const parts = await Promise.all([
            topkPass({
              scores: columns,
              keeps: keeps[0],
              segments: heads,
              len: n,
              stride: n,
              section: layout.headAt(0),
            }),
            topkPass({
              scores: diagonals,
              keeps: keeps[1],
              segments: heads,
              len: n,
              stride: n,
              section: layout.diagAt(0),
            }),
            topkPass({
              scores: perGroup,
              keeps: keeps[2],
              segments: groups,
              len: n,
              stride: n,
              section: layout.groupAt(0),
            }),
          ]);
          return {
            passes: parts.flatMap((p) => p.passes),
            compileMs: 0,
            buffers: [columns, diagonals, perGroup, ...keeps, ...parts.flatMap((p) => p.buffers)],
            extraFlops: 0,
          };
        },
      });
    },
    selectKeys: ({ shape, params }, head, row) =>
      selectedKeys(shape, row, partsOf(shape, params, head, row)),
    nominalDensity: () => 1,
  };
}

const testMethod = maskMethod();

Deno.test({
  name:
    "key masks: GPU attend over columns, diagonals, window and group top-k equals the CPU reference",
  ignore: testGpu === null,
  async fn() {
    await expectMatchesReference(testGpu!, testMethod, {
      params: [
        { columns: 3, diagonals: 2, perGroup: 5, window: 4 },
        { columns: 0, diagonals: 0, perGroup: 1, window: 0 },
        { columns: 40, diagonals: 33, perGroup: 70, window: 1 },
      ],
    });
  },
});

Deno.test({
  name: "key masks: an attend split into key ranges and merged equals the CPU reference",
  ignore: testGpu === null,
  async fn() {
    // Ranges of 2 words (64 keys), so the odd and even test shapes run 1 to 9 ranges per row,
    // some empty for causal rows, merged as flash-decoding does.
    await expectMatchesReference(testGpu!, maskMethod(2), {
      params: [
        { columns: 3, diagonals: 2, perGroup: 5, window: 4 },
        { columns: 0, diagonals: 0, perGroup: 1, window: 0 },
        { columns: 40, diagonals: 33, perGroup: 70, window: 1 },
      ],
    });
  },
});

Deno.test("selectedKeys() unions the parts a causal row may see, ascending", () => {
  const shape = { heads: 1, seq: 10, headDim: 4, causal: true };
  const keys = selectedKeys(shape, 6, {
    columns: [9, 0, 3],
    diagonals: [2, 7, 30],
    window: 2,
    group: [4, 8],
  });
  // Row 6: columns 0, 3 (9 is ahead), diagonals 6−2 = 4 (and 6−7 < 0), window 6, 5, group 4.
  assertEquals([...keys], [0, 3, 4, 5, 6]);
  const open = selectedKeys({ ...shape, causal: false }, 6, { columns: [9], window: 1 });
  assertEquals([...open], [6, 9]);
});

Deno.test("topIndices() takes the k largest, ties to the lower index, never the floor, ascending", () => {
  assertEquals([...topIndices([0.5, 2, 2, -3e38, 1], 2)], [1, 2]);
  assertEquals([...topIndices([1, 3, 3, 3], 2)], [1, 2]);
  assertEquals([...topIndices([-3e38, 1], 5)], [1]);
  assert(topBoundaryIsNearTie([1, 0.99999999, 0.5], 1));
  assert(!topBoundaryIsNearTie([1, 0.9, 0.5], 1));
  assertEquals(maskWords(33), 2);
});

Deno.test({
  name:
    "key masks: top-k over segments longer than llvmpipe's 65,535 loop iterations per invocation",
  ignore: testGpu === null,
  async fn() {
    // One pass per radix byte keeps every invocation near `len` iterations; a single-pass select
    // stopped short past about 10,600 keys and set too few bits.
    await expectMatchesReference(testGpu!, testMethod, {
      params: [{ columns: 3000, diagonals: 2500, perGroup: 4000, window: 4 }],
      shapes: [{ heads: 1, seq: 20000, headDim: 32, causal: true, queries: 2 }],
    });
  },
});

Deno.test({
  name: "key masks: attend over more keys per row than one invocation can loop at head dim 128",
  ignore: testGpu === null,
  async fn() {
    // At head dim 128 the online softmax's lane loop is not unrolled, so each kept key costs
    // about 34 loop iterations: one invocation stopped short past about 1,900 keys (1,923 of
    // 2,600 here), before the attend was split into key ranges.
    await expectMatchesReference(testGpu!, testMethod, {
      params: [{ columns: 2600, diagonals: 0, perGroup: 0, window: 1 }],
      shapes: [
        { heads: 1, seq: 2600, headDim: 128, causal: false, queries: 3 },
        { heads: 1, seq: 4099, headDim: 128, causal: true, queries: 2 },
      ],
    });
  },
});
