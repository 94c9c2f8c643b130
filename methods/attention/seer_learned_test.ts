// SeerAttention's learned gate: the GPU selection and output against the CPU reference, and the
// gate's pooling, scoring, targets and training on hand-made inputs whose answer is known.
import { assert, assertEquals, assertThrows } from "../../tests/assert.ts";
import { testGpu } from "../../tests/gpu.ts";
import { defaultParams, type ParamValues } from "../../bench/metadata.ts";
import { mulberry32, normal } from "../../bench/random.ts";
import {
  type AttentionCalibration,
  type AttentionInputs,
  type AttentionShape,
  blockGeometry,
  chooseBlocksFor,
  expectMatchesReference,
  randomInputs,
} from "../../bench/families/attention/mod.ts";
import { seerGate, seerLearnedAttention } from "./seer_learned.ts";
import { gateScores, poolHead, trainGate, trainingSamples } from "./seer_learned_gate.ts";

const DEFAULTS = defaultParams(seerLearnedAttention.meta.parameters);

/** The parameter sets attention_gpu_test.ts should run (small training: the shapes are tiny). */
export const SEER_LEARNED_TEST_PARAMS: ParamValues[] = [
  { ...DEFAULTS, density: 0.3, blockSize: 16, trainSteps: 30, calibrationInputs: 2 },
  {
    ...DEFAULTS,
    density: 0.1,
    blockSize: 8,
    gateDim: 8,
    trainSteps: 20,
    trainBlocks: 4,
    calibrationInputs: 1,
  },
  { ...DEFAULTS, density: 1, blockSize: 32, trainSteps: 10, calibrationInputs: 1 },
];

Deno.test({
  name: "seer-learned-attention: GPU output equals the CPU reference on odd and even shapes",
  ignore: testGpu === null,
  async fn() {
    await expectMatchesReference(testGpu!, seerLearnedAttention.impl, {
      params: SEER_LEARNED_TEST_PARAMS,
    });
  },
});

Deno.test("poolHead() pools queries by mean and keys by max, min and mean", () => {
  const shape = { heads: 1, seq: 3, headDim: 4, causal: false };
  const inputs: AttentionInputs = {
    q: Float32Array.from([1, 2, 3, 4, 3, 2, 1, 0, 5, 5, 5, 5]),
    k: Float32Array.from([1, -1, 0, 2, 3, 1, 0, -2, 8, 8, 8, 8]),
    v: new Float32Array(12),
  };
  const pooled = poolHead(shape, inputs, 2, 0);
  // Block 0 holds rows 0 and 1, block 1 only row 2.
  assertEquals([...pooled.q], [2, 2, 2, 2, 5, 5, 5, 5]);
  assertEquals([...pooled.k.subarray(0, 12)], [3, 1, 0, 2, 1, -1, 0, -2, 2, 0, 0, 0]);
  assertEquals([...pooled.k.subarray(12)], [8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8]);
  assertEquals(pooled.kAbs[9], 1);
});

Deno.test("gateScores() is the dot of the projections over √gateDim, visible blocks only", () => {
  const shape = { heads: 1, seq: 4, headDim: 4, causal: true };
  const inputs: AttentionInputs = {
    q: Float32Array.from([1, 0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0]),
    k: Float32Array.from([1, 0, 0, 0, 5, 0, 0, 0, -1, 0, 0, 0, -3, 0, 0, 0]),
    v: new Float32Array(16),
  };
  // gateDim 4 (scale 1/2): wq copies dim 0 to output 0; wk copies the key mean's dim 0 there.
  const wq = new Float32Array(16);
  wq[0] = 1;
  const wk = new Float32Array(48);
  wk[8 * 4] = 1;
  const geometry = blockGeometry(shape, 2);
  const { scores } = gateScores(shape, {
    pooled: poolHead(shape, inputs, 2, 0),
    weights: { wq, wk },
    geometry,
    gateDim: 4,
  });
  // Query means 2 and 2, key means 3 and -2: query block 0 sees key block 0 only (causal).
  assertEquals(scores.map((row) => [...row]), [[3], [3, -2]]);
});

/**
 * One head whose queries all seek the keys of block `far` (and noise elsewhere): the "model" is
 * that direction and that block; `seed` draws the noise, one prompt of it.
 */
function farBlockInput(
  shape: AttentionShape,
  block: number,
  far: number,
  seed = 9,
): AttentionInputs {
  const g = normal(mulberry32(seed));
  const d = shape.headDim;
  const q = Float32Array.from({ length: shape.seq * d }, () => 0.3 * g());
  const k = Float32Array.from({ length: shape.seq * d }, () => 0.3 * g());
  for (let t = 0; t < shape.seq; t++) {
    q[t * d] += 3;
    if (Math.floor(t / block) === far) k[t * d] += 3;
  }
  return { q, k, v: new Float32Array(shape.seq * d) };
}

/** Held-out prompts (noise seeds 21, 22, ...) to the far-block "model" of farBlockInput. */
function farBlockCalibration(
  shape: AttentionShape,
  at: { block: number; far: number; evaluatedSeed?: number; seeds?: number[] },
): AttentionCalibration {
  const seeds = at.seeds ?? [21, 22, 23, 24];
  return {
    key: `far-block|${JSON.stringify(shape)}|${at.block}|${at.far}|${seeds.join(",")}`,
    ids: seeds.map((s) => `noise seed ${s}`),
    evaluatedId: `noise seed ${at.evaluatedSeed ?? 9}`,
    input: (i) => farBlockInput(shape, at.block, at.far, seeds[i]),
  };
}

Deno.test("trainGate() learns from held-out inputs to rank the block every query seeks first, deterministically", () => {
  const shape = { heads: 1, seq: 256, headDim: 8, causal: false };
  const config = { blockSize: 16, gateDim: 4, trainSteps: 150, trainBlocks: 4 };
  // Trained on two other prompts, scored on the evaluated one (noise seed 9).
  const heldOut = [21, 22].map((seed) => farBlockInput(shape, 16, 11, seed));
  const inputs = farBlockInput(shape, 16, 11);
  const trained = trainGate(shape, heldOut, config, 0);
  const untrained = trainGate(shape, heldOut, { ...config, trainSteps: 1 }, 0);
  assert(trained.loss < untrained.loss / 4, `loss ${trained.loss} vs ${untrained.loss}`);
  const again = trainGate(shape, heldOut, config, 0);
  assertEquals(again.weights, trained.weights);
  const geometry = blockGeometry(shape, 16);
  const { scores } = gateScores(shape, {
    pooled: poolHead(shape, inputs, 16, 0),
    weights: trained.weights,
    geometry,
    gateDim: 4,
  });
  // Every query block of an input it was not trained on keeps its own block and block 11.
  for (let qb = 0; qb < geometry.queryBlocks; qb++) {
    const chosen = [...chooseBlocksFor(geometry, 2 / 16, qb, (kb) => scores[qb][kb])];
    if (qb === 11) assert(chosen.length === 2 && chosen.includes(11), `block 11: ${chosen}`);
    else assertEquals(chosen, [Math.min(qb, 11), Math.max(qb, 11)], `query block ${qb}`);
  }
});

Deno.test("trainingSamples() draws distinct query blocks that see more than one block", () => {
  const shape = { heads: 2, seq: 200, headDim: 4, causal: true };
  const inputs = randomInputs(shape, 3);
  const config = { blockSize: 16, gateDim: 4, trainSteps: 0, trainBlocks: 5 };
  for (const head of [0, 1]) {
    const samples = trainingSamples(shape, inputs, config, { head, input: 0 });
    const blocks = samples.map((s) => s.qb);
    assertEquals(blocks.length, 5);
    assertEquals(new Set(blocks).size, 5);
    assert(blocks.every((qb) => qb >= 1), `query block 0 sees one block: ${blocks}`);
    for (const { target } of samples) {
      assert(Math.abs(target.reduce((a, b) => a + b, 0) - 1) < 1e-12);
    }
  }
  const all = trainingSamples(shape, inputs, { ...config, trainBlocks: 100 }, {
    head: 0,
    input: 0,
  });
  // Another calibration input draws other blocks.
  const other = trainingSamples(shape, inputs, config, { head: 0, input: 1 });
  assert(
    other.map((s) => s.qb).join() !==
      trainingSamples(shape, inputs, config, { head: 0, input: 0 }).map((s) => s.qb).join(),
  );
  assertEquals(all.map((s) => s.qb), Array.from({ length: 12 }, (_, i) => i + 1));
});

Deno.test("seer-learned-attention: selectKeys keeps the own block plus the budget, row by row", () => {
  const shape = { heads: 1, seq: 256, headDim: 8, causal: true };
  const inputs = farBlockInput(shape, 16, 2);
  const calibration = farBlockCalibration(shape, { block: 16, far: 2 });
  const params = {
    density: 0.25,
    blockSize: 16,
    gateDim: 4,
    trainSteps: 150,
    trainBlocks: 4,
    calibrationInputs: 2,
  };
  const method = seerLearnedAttention.impl;
  // Row 255 (query block 15, 16 visible blocks, 4 kept) must keep block 2 and its own block.
  const keys = method.selectKeys({ shape, params, inputs, calibration }, 0, 255);
  assertEquals(keys.length, 4 * 16);
  const blocks = new Set([...keys].map((j) => Math.floor(j / 16)));
  assert(blocks.has(2) && blocks.has(15), `blocks ${[...blocks]}`);
  // Causal: row 40 (block 2) sees keys up to 40 only; with 3 visible blocks it keeps 1.
  assertEquals(
    [...method.selectKeys({ shape, params, inputs, calibration }, 0, 40)],
    range(32, 41),
  );
  assertEquals(
    method.ambiguousRow!({ shape, params: { ...params, density: 1 }, inputs, calibration }, 0, 255),
    false,
  );
});

function range(lo: number, hi: number): number[] {
  return Array.from({ length: hi - lo }, (_, i) => lo + i);
}

Deno.test("seer-learned-attention: ambiguousRow flags a tie at the budget's boundary only", () => {
  const shape = { heads: 1, seq: 128, headDim: 8, causal: false };
  const inputs = farBlockInput(shape, 16, 5);
  // Block 2 becomes a copy of block 5: equal pooled keys, equal gate scores.
  inputs.k.copyWithin(2 * 16 * 8, 5 * 16 * 8, 6 * 16 * 8);
  const params = {
    blockSize: 16,
    gateDim: 4,
    trainSteps: 100,
    trainBlocks: 4,
    calibrationInputs: 2,
  };
  const calibration = farBlockCalibration(shape, { block: 16, far: 5 });
  const method = seerLearnedAttention.impl;
  const at = (density: number) => ({ shape, params: { ...params, density }, inputs, calibration });
  // Query block 0 keeps itself and one of the two: a tie; with room for both, none.
  assert(method.ambiguousRow!(at(2 / 8), 0, 3));
  assert(!method.ambiguousRow!(at(3 / 8), 0, 3));
  const keys = method.selectKeys(at(3 / 8), 0, 3);
  assertEquals(
    [...new Set([...keys].map((j) => Math.floor(j / 16)))],
    [0, 2, 5],
  );
});

Deno.test("seer-learned-attention trains on held-out inputs only: a set holding the evaluated input is refused", () => {
  const shape = { heads: 1, seq: 128, headDim: 8, causal: true };
  const inputs = farBlockInput(shape, 16, 3);
  const params = {
    density: 0.25,
    blockSize: 16,
    gateDim: 4,
    trainSteps: 5,
    trainBlocks: 4,
    calibrationInputs: 2,
  };
  const calibration = farBlockCalibration(shape, { block: 16, far: 3 });
  const gate = seerGate({ shape, inputs, params, calibration });
  assertEquals(gate.record.ids, ["noise seed 21", "noise seed 22"]);
  assert(!gate.record.ids.includes(calibration.evaluatedId));
  assertEquals(gate.record.heldOut, true);
  // The evaluated prompt (noise seed 9) among the calibration inputs: training must refuse it.
  const leaky = farBlockCalibration(shape, { block: 16, far: 3, seeds: [21, 9, 22] });
  assertThrows(
    () =>
      seerLearnedAttention.impl.selectKeys({ shape, inputs, params, calibration: leaky }, 0, 100),
    Error,
    "holds the evaluated input",
  );
  // More inputs than the task offers: a clear message, not a silent smaller set.
  assertThrows(
    () => seerGate({ shape, inputs, params: { ...params, calibrationInputs: 5 }, calibration }),
    RangeError,
    "asks for 5 calibration inputs, but the task gives 4",
  );
});
