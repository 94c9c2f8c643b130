// NOSA's trained eviction head: GPU against the CPU reference, deterministic training, training
// only on held-out inputs, and that on a planted-structure model it ranks the heavily attended
// key slots of an unseen input above a random scorer.
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
import { evictionHead, headScores } from "./nosa_head.ts";
import { nosaTrainedAttention } from "./nosa_trained.ts";
import type { NosaParams } from "./nosa.ts";

/** As nosa_test.ts's sets: mixed, purely query-agnostic and odd block sizes. */
const NOSA_TEST_PARAMS: NosaParams[] = [
  { budget: 64, queryAwareShare: 0.5, blockSize: 8, window: 4, queryBlock: 1 },
  { budget: 30, queryAwareShare: 0, blockSize: 4, window: 8, queryBlock: 3 },
  { budget: 100, queryAwareShare: 0.3, blockSize: 16, window: 1, queryBlock: 5 },
];

const SHAPE: AttentionShape = { heads: 2, seq: 96, headDim: 8, causal: true };
const HEAVY = 6;

/** A model whose heavy key slots (seeded positions) carry a key direction queries share and a
 * value marker; the rest is noise. Inputs of one model differ in where the heavy slots are. */
function planted(seed: number): AttentionInputs {
  const inputs = randomInputs(SHAPE, seed);
  const { heads, seq, headDim: d } = SHAPE;
  for (const a of [inputs.q, inputs.k, inputs.v]) for (let i = 0; i < a.length; i++) a[i] *= 0.3;
  let state = seed * 7919 + 13;
  const next = () => (state = (state * 1103515245 + 12345) % 2147483648) / 2147483648;
  for (let h = 0; h < heads; h++) {
    for (let r = 0; r < seq; r++) inputs.q[(h * seq + r) * d] += 2;
    for (let n = 0; n < HEAVY; n++) {
      const j = Math.floor(next() * seq);
      inputs.k[(h * seq + j) * d] += 3;
      inputs.v[(h * seq + j) * d + 1] += 2;
    }
  }
  return inputs;
}

function calibrationOf(seeds: number[], evaluated: number): AttentionCalibration {
  return {
    key: `planted|${seeds.join(",")}`,
    ids: seeds.map((s) => `seed ${s}`),
    evaluatedId: `seed ${evaluated}`,
    input: (i) => planted(seeds[i]),
  };
}

const params = NOSA_TEST_PARAMS[0];

Deno.test({
  name: "nosa-trained-attention: GPU output equals the CPU reference on odd and even shapes",
  ignore: testGpu === null,
  async fn() {
    await expectMatchesReference(testGpu!, nosaTrainedAttention.impl, {
      params: NOSA_TEST_PARAMS,
    });
  },
});

Deno.test("the eviction head trains deterministically", () => {
  const problem = (key: string) => ({
    shape: SHAPE,
    inputs: planted(1),
    params,
    calibration: { ...calibrationOf([11, 12, 13, 14], 1), key },
  });
  const a = evictionHead(problem("first"), "test").weights;
  const b = evictionHead(problem("second"), "test").weights;
  assertEquals(Array.from(a), Array.from(b));
});

Deno.test("the eviction head refuses a calibration set holding the evaluated input", () => {
  const problem = {
    shape: SHAPE,
    inputs: planted(12),
    params,
    calibration: calibrationOf([11, 12, 13, 14], 12),
  };
  assertThrows(() => evictionHead(problem, "nosa-trained-attention"), Error, "held-out");
});

Deno.test("on an unseen input the trained head keeps more attention mass than a random scorer", () => {
  const evaluated = planted(99);
  const head = evictionHead({
    shape: SHAPE,
    inputs: evaluated,
    params,
    calibration: calibrationOf([21, 22, 23, 24], 99),
  }, "test");
  const mass = receivedMass(SHAPE, evaluated);
  const keep = 8;
  const recall = (scores: ArrayLike<number>, h: number) => {
    const order = Array.from(scores, (s, j) => [s, j]).sort((x, y) => y[0] - x[0]);
    let kept = 0;
    for (const [, j] of order.slice(0, keep)) kept += mass[h][j];
    return kept / mass[h].reduce((s, m) => s + m, 0);
  };
  let state = 7;
  const random = () => (state = (state * 48271) % 2147483647) / 2147483647;
  for (let h = 0; h < SHAPE.heads; h++) {
    const trained = recall(
      headScores(SHAPE, evaluated, { weights: head.weights, head: h }).scores,
      h,
    );
    // The best of 20 random scorers, so the head must beat more than an unlucky draw.
    let best = 0;
    for (let t = 0; t < 20; t++) {
      best = Math.max(best, recall(Array.from({ length: SHAPE.seq }, random), h));
    }
    assert(trained > best, `head ${h}: trained keeps ${trained}, random at best ${best}`);
  }
});
