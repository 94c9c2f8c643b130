// DMA's fitted value projection: GPU against the CPU reference, deterministic fitting, fitting
// only on held-out inputs, and that on a model whose heavily attended keys carry a value marker
// it ranks an unseen input's heavy keys above a random projection.
import { assert, assertEquals, assertThrows } from "../../tests/assert.ts";
import { testGpu } from "../../tests/gpu.ts";
import {
  type AttentionCalibration,
  type AttentionInputs,
  type AttentionShape,
  expectMatchesReference,
  randomInputs,
  receivedMass,
} from "../../bench/families/attention/mod.ts";
import { type DynamicMaskParams, valueScores } from "./dynamic_mask.ts";
import { trainedProjection } from "./dynamic_mask_head.ts";
import { dynamicMaskTrainedAttention } from "./dynamic_mask_trained.ts";

const SHAPE: AttentionShape = { heads: 2, seq: 96, headDim: 8, causal: true };
const params: DynamicMaskParams = { keep: 16, window: 4 };

/** Heavy key slots (seeded positions) share a key direction with the queries and a value marker. */
function planted(seed: number): AttentionInputs {
  const inputs = randomInputs(SHAPE, seed);
  const { heads, seq, headDim: d } = SHAPE;
  for (const a of [inputs.q, inputs.k, inputs.v]) for (let i = 0; i < a.length; i++) a[i] *= 0.3;
  let state = seed * 7919 + 13;
  const next = () => (state = (state * 1103515245 + 12345) % 2147483648) / 2147483648;
  for (let h = 0; h < heads; h++) {
    for (let r = 0; r < seq; r++) inputs.q[(h * seq + r) * d] += 2;
    for (let n = 0; n < 6; n++) {
      const j = Math.floor(next() * seq);
      inputs.k[(h * seq + j) * d] += 3;
      inputs.v[(h * seq + j) * d + 1] += 2;
    }
  }
  return inputs;
}

function calibrationOf(seeds: number[], evaluated: number): AttentionCalibration {
  return {
    key: `dma-planted|${seeds.join(",")}`,
    ids: seeds.map((s) => `seed ${s}`),
    evaluatedId: `seed ${evaluated}`,
    input: (i) => planted(seeds[i]),
  };
}

Deno.test({
  name:
    "dynamic-mask-trained-attention: GPU output equals the CPU reference on odd and even shapes",
  ignore: testGpu === null,
  async fn() {
    await expectMatchesReference(testGpu!, dynamicMaskTrainedAttention.impl, {
      params: [{ keep: 16, window: 4 }, { keep: 70, window: 0 }, { keep: 1000, window: 8 }],
    });
  },
});

Deno.test("the value projection fits deterministically and only on held-out inputs", () => {
  const problem = (key: string, evaluated: number) => ({
    shape: SHAPE,
    inputs: planted(evaluated),
    params,
    calibration: { ...calibrationOf([11, 12, 13, 14], evaluated), key },
  });
  const a = trainedProjection(problem("first", 1), "test").weights;
  const b = trainedProjection(problem("second", 1), "test").weights;
  assertEquals(Array.from(a), Array.from(b));
  assertThrows(() => trainedProjection(problem("third", 13), "test"), Error, "held-out");
});

Deno.test("on an unseen input the fitted projection keeps more attention mass than random ones on average", () => {
  const evaluated = planted(99);
  const { weights } = trainedProjection({
    shape: SHAPE,
    inputs: evaluated,
    params,
    calibration: calibrationOf([21, 22, 23, 24], 99),
  }, "test");
  const mass = receivedMass(SHAPE, evaluated);
  const recall = (scores: ArrayLike<number>, h: number) => {
    const order = Array.from(scores, (s, j) => [s, j]).sort((x, y) => y[0] - x[0]);
    let kept = 0;
    for (const [, j] of order.slice(0, 8)) kept += mass[h][j];
    return kept / mass[h].reduce((s, m) => s + m, 0);
  };
  let state = 7;
  const random = () => (state = (state * 48271) % 2147483647) / 2147483647 - 0.5;
  const d = SHAPE.headDim;
  for (let h = 0; h < SHAPE.heads; h++) {
    const fitted = recall(valueScores(SHAPE, evaluated, h, weights), h);
    // Against the average of 20 random directions (the expected random scorer): in 8 dimensions
    // a lucky random one can lie along the marker as well as the fit does.
    let sum = 0;
    for (let t = 0; t < 20; t++) {
      const w = Float32Array.from({ length: SHAPE.heads * d }, random);
      sum += recall(valueScores(SHAPE, evaluated, h, w), h);
    }
    const mean = sum / 20;
    const standIn = recall(valueScores(SHAPE, evaluated, h), h);
    assert(
      fitted > mean && fitted > standIn,
      `head ${h}: fitted keeps ${fitted}, random on average ${mean}, the seeded stand-in ${standIn}`,
    );
  }
});
