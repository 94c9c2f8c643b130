// Sparse-vDiT: the pattern library on hand-made geometries, the offline search on heads built to
// show one pattern each, and the GPU attend pass against the CPU reference.
import { assert, assertEquals, assertThrows } from "../../tests/assert.ts";
import { testGpu } from "../../tests/gpu.ts";
import {
  type AttentionCalibration,
  type AttentionShape,
  blockGeometry,
  expectMatchesReference,
  randomInputs,
} from "../../bench/families/attention/mod.ts";
import { sparseVditAttention, vditPlan } from "./sparse_vdit.ts";
import {
  blockPairCount,
  calibrationRows,
  type HeadPattern,
  patternBlocks,
  searchPatterns,
} from "./sparse_vdit_patterns.ts";

export const SPARSE_VDIT_TEST_PARAMS = [
  { density: 0.3, blockSize: 16, threshold: 0.3, calibrationInputs: 2 },
  { density: 0.1, blockSize: 8, threshold: 0.9, calibrationInputs: 1 },
  { density: 0.5, blockSize: 4, threshold: 0.6, calibrationInputs: 1 },
  { density: 1, blockSize: 32, threshold: 0.8, calibrationInputs: 1 },
];

const causal64: AttentionShape = { heads: 1, seq: 64, headDim: 8, causal: true };
const blocks = (xs: Int32Array) => [...xs];

Deno.test("patternBlocks() lays out each pattern around the query block's own block", () => {
  const g = blockGeometry(causal64, 8);
  const at = (pattern: HeadPattern, density: number, qb: number) =>
    blocks(patternBlocks(g, pattern, density, qb));
  // Query block 5 sees blocks 0..5; a budget of 3 blocks at density 0.5.
  assertEquals(at({ kind: "diagonal", level: 1 }, 0.5, 5), [3, 4, 5]);
  assertEquals(at({ kind: "multi-diagonal", level: 1, period: 2 }, 0.5, 5), [1, 3, 5]);
  assertEquals(at({ kind: "multi-diagonal", level: 1, period: 3 }, 0.5, 5), [2, 4, 5]);
  const stripes = Int32Array.from([2, 7, 0, 1, 3, 4, 5, 6]);
  assertEquals(at({ kind: "vertical-stripe", level: 1, stripes }, 0.5, 5), [0, 2, 5]);
  // Half the budget (0.25 of 6 blocks rounds to 2): the own block and the best stripe.
  assertEquals(at({ kind: "vertical-stripe", level: 0.5, stripes }, 0.5, 5), [2, 5]);
  assertEquals(at({ kind: "dense", level: 1 }, 0.01, 5), [0, 1, 2, 3, 4, 5]);
  // The first query block sees only itself, whatever the pattern.
  assertEquals(at({ kind: "multi-diagonal", level: 1, period: 2 }, 1, 0), [0]);
  // Non-causal: the band is centred on the own block and shifted to fit at the edges.
  const g2 = blockGeometry({ ...causal64, causal: false }, 8);
  assertEquals(blocks(patternBlocks(g2, { kind: "diagonal", level: 1 }, 0.375, 4)), [3, 4, 5]);
  assertEquals(blocks(patternBlocks(g2, { kind: "diagonal", level: 1 }, 0.375, 0)), [0, 1, 2]);
  assertEquals(
    blocks(patternBlocks(g2, { kind: "multi-diagonal", level: 1, period: 3 }, 0.5, 4)),
    [1, 3, 4, 7],
  );
});

Deno.test("blockPairCount() counts causal pairs of the own block and whole blocks elsewhere", () => {
  assertEquals(blockPairCount(causal64, 8, 2, 2), 36);
  assertEquals(blockPairCount(causal64, 8, 2, 0), 64);
  assertEquals(blockPairCount({ ...causal64, causal: false }, 8, 2, 5), 64);
  // Decoding: 3 queries at positions 61..63, one key block of 8 (56..63) partly visible.
  const decoding = { ...causal64, queries: 3 };
  assertEquals(blockPairCount(decoding, 8, 0, 7), 6 + 7 + 8);
  assertEquals(blockPairCount({ ...causal64, seq: 60 }, 8, 7, 7), 10);
});

Deno.test("calibrationRows() is a seeded sample of distinct rows, all rows when few", () => {
  const rows = calibrationRows(1000, 64);
  assertEquals(rows.length, 64);
  assertEquals(new Set(rows).size, 64);
  assert(rows.every((r, i) => r >= 0 && r < 1000 && (i === 0 || r > rows[i - 1])));
  assertEquals(blocks(calibrationRows(1000, 64)), blocks(rows));
  assertEquals(blocks(calibrationRows(5, 64)), [0, 1, 2, 3, 4]);
});

/**
 * Four non-causal heads (seq 64, blocks of 4, d 16), each built to have one pattern: every key a
 * one-hot direction e_i (or zero), so a query 60·e_i attends (almost) only to the keys that share
 * i, with a scaled logit of 15 against 0.
 */
function patternedHeads(): { shape: AttentionShape; q: Float32Array; k: Float32Array } {
  const shape: AttentionShape = { heads: 4, seq: 64, headDim: 16, causal: false };
  const { seq, headDim: d } = shape;
  const q = new Float32Array(4 * seq * d);
  const k = new Float32Array(4 * seq * d);
  const a = 60;
  const at = (head: number, t: number, i: number) => (head * seq + t) * d + i;
  for (let t = 0; t < seq; t++) {
    const qb = Math.floor(t / 4);
    // Head 0, diagonal: a direction per block, so each position matches its own block only.
    q[at(0, t, qb)] = a;
    k[at(0, t, qb)] = 1;
    // Head 1, multi-diagonal: blocks match every 4 blocks (period 4), never their neighbours.
    q[at(1, t, qb % 4)] = a;
    k[at(1, t, qb % 4)] = 1;
    // Head 2, vertical stripe: every query seeks the keys of block 3.
    q[at(2, t, 0)] = a;
    if (qb === 3) k[at(2, t, 0)] = 1;
    // Head 3: q = 0, uniform attention that no sparse pattern summarises.
  }
  return { shape, q, k };
}

Deno.test("searchPatterns() gives each hand-made head its pattern, the uniform head dense", () => {
  const { shape, q, k } = patternedHeads();
  const plan = searchPatterns(shape, [{ q, k }], { blockSize: 4, density: 0.25, threshold: 0.9 });
  const [diagonal, multi, vertical, uniform] = plan.heads;
  // Own block only is the cheapest layout and already holds the match; ties go to diagonal.
  assertEquals(diagonal.pattern.kind, "diagonal");
  assertEquals(diagonal.pattern.level, 0.25);
  assertEquals(multi.pattern.kind, "multi-diagonal");
  assertEquals(multi.pattern.period, 4);
  assertEquals(multi.pattern.level, 1);
  assert(multi.recall > 0.99, `multi-diagonal recall ${multi.recall}`);
  assertEquals(vertical.pattern.kind, "vertical-stripe");
  assertEquals(vertical.pattern.level, 0.5);
  assertEquals(vertical.pattern.stripes![0], 3);
  assertEquals(uniform.pattern.kind, "dense");
  assertEquals(uniform.recall, 1);
  assert(diagonal.costMs < vertical.costMs && vertical.costMs < multi.costMs);
  assert(multi.costMs < uniform.costMs && uniform.costMs === uniform.denseCostMs);
  // The chosen layouts are what the attend pass gets.
  assertEquals(blocks(plan.blocks[0][10]), [10]);
  assertEquals(blocks(plan.blocks[1][10]), [2, 6, 10, 14]);
  assertEquals(blocks(plan.blocks[2][10]), [3, 10]);
  assertEquals(plan.blocks[3][10].length, 16);
});

Deno.test("searchPatterns() falls back to dense when the threshold is out of every pattern's reach", () => {
  const { shape, q, k } = patternedHeads();
  const plan = searchPatterns(shape, [{ q, k }], { blockSize: 4, density: 0.25, threshold: 1 });
  // No sparse layout keeps every last bit of mass (non-matching keys keep e^-15 each).
  assert(plan.heads.every((h) => h.pattern.kind === "dense"));
});

Deno.test("searchPatterns() shares one pattern across the steps folded into the heads", () => {
  const { shape, q, k } = patternedHeads();
  const stepped = { ...shape, steps: 2 };
  const plan = searchPatterns(stepped, [{ q, k }], { blockSize: 4, density: 0.25, threshold: 0.5 });
  // Two heads per step, each searched on both steps' rows pooled; both steps run the same blocks.
  assertEquals(plan.heads.length, 2);
  for (let qb = 0; qb < 16; qb++) {
    assertEquals(blocks(plan.blocks[0][qb]), blocks(plan.blocks[2][qb]));
    assertEquals(blocks(plan.blocks[1][qb]), blocks(plan.blocks[3][qb]));
  }
  assert(plan.heads.some((h) => h.pattern.kind !== "dense"));
});

/** The patterned heads as the one held-out input of a calibration set (of `shape`). */
function patternedCalibration(shape: AttentionShape): AttentionCalibration {
  const { q, k } = patternedHeads();
  return {
    key: `patterned|${JSON.stringify(shape)}`,
    ids: ["patterned heads"],
    evaluatedId: "the evaluated input",
    input: () => ({ q, k, v: new Float32Array(k.length) }),
  };
}

Deno.test("selectKeys() returns the keys of the searched blocks, causal bounds applied", () => {
  const { shape } = patternedHeads();
  // The evaluated input is noise: the plan comes from the held-out patterned heads alone.
  const inputs = randomInputs(shape, 5);
  const calibration = patternedCalibration(shape);
  const params = { density: 0.25, blockSize: 4, threshold: 0.9, calibrationInputs: 1 };
  const select = (on: AttentionShape, head: number, row: number) => [
    ...sparseVditAttention.impl.selectKeys(
      { shape: on, params, inputs, calibration: patternedCalibration(on) },
      head,
      row,
    ),
  ];
  assertEquals(select(shape, 2, 41), [
    12,
    13,
    14,
    15,
    40,
    41,
    42,
    43,
  ]);
  const causal = { ...shape, causal: true };
  assertEquals(select(causal, 0, 41), [40, 41]);
  // Another evaluated input, the same held-out set: the same plan (the search never sees it).
  const other = randomInputs(shape, 6);
  const plan = vditPlan({ shape, inputs: other, params, calibration });
  assertEquals(plan.record.ids, ["patterned heads"]);
  assertEquals(plan.plan, vditPlan({ shape, inputs, params, calibration }).plan);
});

Deno.test("sparse-vdit-attention searches held-out inputs only: a set holding the evaluated input is refused", () => {
  const { shape } = patternedHeads();
  const leaky = { ...patternedCalibration(shape), evaluatedId: "patterned heads" };
  const params = { density: 0.25, blockSize: 4, threshold: 0.9, calibrationInputs: 1 };
  assertThrows(
    () => vditPlan({ shape, inputs: randomInputs(shape, 5), params, calibration: leaky }),
    Error,
    "holds the evaluated input",
  );
});

Deno.test({
  name: "sparse-vdit-attention: GPU output equals the CPU reference on odd and even shapes",
  ignore: testGpu === null,
  async fn() {
    await expectMatchesReference(testGpu!, sparseVditAttention.impl, {
      params: SPARSE_VDIT_TEST_PARAMS,
    });
  },
});
