// DHSA's trained boundary predictor: GPU against the CPU reference (with a scan past llvmpipe's
// loop limit), deterministic training, training only on held-out inputs, and that on a model whose
// keys change topic at planted segment boundaries it finds them better than the cosine stand-in.
import { assert, assertEquals, assertThrows } from "../../tests/assert.ts";
import { testGpu } from "../../tests/gpu.ts";
import { mulberry32, normal } from "../../bench/random.ts";
import {
  type AttentionCalibration,
  type AttentionInputs,
  type AttentionShape,
  expectMatchesReference,
  randomInputs,
} from "../../bench/families/attention/mod.ts";
import { chunkKeys, cutLogit, defineDhsa, type DhsaParams } from "./dhsa.ts";
import { scanSegment } from "./dhsa_kernel.ts";
import { boundaryFeatureCount, boundaryLogits, boundaryPredictor } from "./dhsa_boundary.ts";
import { dhsaTrainedAttention } from "./dhsa_trained.ts";

/** As dhsa_test.ts's sets, the threshold a boundary probability. */
const TRAINED_TEST_PARAMS: DhsaParams[] = [
  { density: 0.1, threshold: 0.5, minChunk: 4, maxChunk: 16 },
  { density: 0.05, threshold: 0.3, minChunk: 1, maxChunk: 9 },
];

Deno.test({
  name: "dhsa-trained-attention: GPU boundary logits, chunking and attend equal the CPU reference",
  ignore: testGpu === null,
  async fn() {
    await expectMatchesReference(testGpu!, dhsaTrainedAttention.impl, {
      params: TRAINED_TEST_PARAMS,
    });
  },
});

Deno.test({
  name: "dhsa-trained-attention: a predicted chunking scan past llvmpipe's 65,535 loop iterations",
  ignore: testGpu === null,
  async fn() {
    // As dhsa_test.ts's long scan: 8192 keys at head dim 100 take several scan dispatches, the
    // cuts now read from the boundary pass. Seeded weights of either sign, so that heads cut at
    // different keys (fitting at this size would only slow the test; the fit is tested below).
    const shape = { heads: 4, seq: 8192, headDim: 100, causal: true, queries: 4 };
    assert(scanSegment(shape.headDim) < shape.seq);
    const n = boundaryFeatureCount(shape.headDim);
    const uniform = mulberry32(5);
    const weights = Float32Array.from({ length: shape.heads * n }, () => (uniform() - 0.5) / 50);
    const record = { inputs: 0, ms: 0, ids: [], heldOut: false };
    const fixed = defineDhsa(
      {
        ...dhsaTrainedAttention.meta,
        threshold: { description: "boundary probability", default: 0.5, min: 0.01, max: 0.99 },
        notes: "seeded weights",
        boundary: () => ({ weights, record }),
      } as Parameters<typeof defineDhsa>[0],
    );
    await expectMatchesReference(testGpu!, fixed.impl, {
      params: [{ density: 0.1, threshold: 0.5, minChunk: 8, maxChunk: 32 }],
      shapes: [shape],
    });
  },
});

const SHAPE: AttentionShape = { heads: 2, seq: 320, headDim: 16, causal: true };
const TOPICS = 6;

/**
 * A model of topic segments: per head TOPICS unit directions in dimensions 0..7 (fixed by the
 * model); an input cuts the keys into segments of 12–40 keys, each along one topic (3·topic plus
 * a little noise) plus loud noise in dimensions 8..15 that no query reads; each query seeks the
 * topic of a segment at or before it. So attention shifts at segment starts, while a key's cosine
 * with its chunk is mostly noise.
 */
function planted(seed: number): { inputs: AttentionInputs; starts: number[][] } {
  const { heads, seq, headDim: d } = SHAPE;
  const inputs = randomInputs(SHAPE, seed);
  const modelGauss = normal(mulberry32(0x70c1c));
  const gauss = normal(mulberry32(seed));
  const uniform = mulberry32(seed * 31 + 7);
  const starts: number[][] = [];
  for (let h = 0; h < heads; h++) {
    const topics = Array.from({ length: TOPICS }, () => {
      const u = Array.from({ length: 8 }, modelGauss);
      const len = Math.hypot(...u);
      return u.map((x) => x / len);
    });
    const segment = new Int32Array(seq);
    const topicOf: number[] = [];
    const own: number[] = [];
    for (let t = 0; t < seq;) {
      const len = 12 + Math.floor(uniform() * 29);
      let topic = Math.floor(uniform() * TOPICS);
      if (topicOf.length > 0 && topic === topicOf[topicOf.length - 1]) topic = (topic + 1) % TOPICS;
      own.push(t);
      topicOf.push(topic);
      segment.fill(topicOf.length - 1, t, Math.min(seq, t + len));
      t += len;
    }
    starts.push(own.slice(1));
    for (let t = 0; t < seq; t++) {
      const at = (h * seq + t) * d;
      const topic = topics[topicOf[segment[t]]];
      const sought = topics[topicOf[Math.floor(uniform() * (segment[t] + 1))]];
      for (let i = 0; i < 8; i++) {
        inputs.k[at + i] = 3 * topic[i] + 0.3 * gauss();
        inputs.q[at + i] = 3 * sought[i] + 0.3 * gauss();
      }
      for (let i = 8; i < d; i++) {
        inputs.k[at + i] = 3 * gauss();
        inputs.q[at + i] = 0.1 * gauss();
      }
    }
  }
  return { inputs, starts };
}

function calibrationOf(seeds: number[], evaluated: number): AttentionCalibration {
  return {
    key: `topic segments|${seeds.join(",")}`,
    ids: seeds.map((s) => `seed ${s}`),
    evaluatedId: `seed ${evaluated}`,
    input: (i) => planted(seeds[i]).inputs,
  };
}

const params: DhsaParams = { density: 0.2, threshold: 0.5, minChunk: 4, maxChunk: 64 };

Deno.test("the boundary predictor trains deterministically", () => {
  const problem = (key: string) => ({
    shape: SHAPE,
    inputs: planted(1).inputs,
    params,
    calibration: { ...calibrationOf([11, 12, 13, 14], 1), key },
  });
  const a = boundaryPredictor(problem("first"), "test").weights;
  const b = boundaryPredictor(problem("second"), "test").weights;
  assert(a !== b);
  assertEquals(Array.from(a), Array.from(b));
});

Deno.test("the boundary predictor refuses a calibration set holding the evaluated input", () => {
  const problem = {
    shape: SHAPE,
    inputs: planted(12).inputs,
    params,
    calibration: calibrationOf([11, 12, 13, 14], 12),
  };
  assertThrows(() => boundaryPredictor(problem, "dhsa-trained-attention"), Error, "held-out");
});

/** F1 of predicted chunk starts against the planted segment starts, a start ±1 counting as found. */
function boundaryF1(predicted: number[], planted: number[]): number {
  const near = (a: number[], b: number[]) => a.filter((x) => b.some((y) => Math.abs(x - y) <= 1));
  const precision = predicted.length ? near(predicted, planted).length / predicted.length : 0;
  const recall = near(planted, predicted).length / planted.length;
  return precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
}

Deno.test("on an unseen input the trained predictor finds segment starts better than the cosine", () => {
  const evaluated = planted(99);
  const predictor = boundaryPredictor({
    shape: SHAPE,
    inputs: evaluated.inputs,
    params,
    calibration: calibrationOf([21, 22, 23, 24], 99),
  }, "test");
  const inner = (starts: Int32Array) => Array.from(starts.slice(1, -1));
  for (let h = 0; h < SHAPE.heads; h++) {
    const trained = boundaryF1(
      inner(
        chunkKeys(SHAPE, evaluated.inputs.k, params, h, {
          ...boundaryLogits(SHAPE, evaluated.inputs, { weights: predictor.weights, head: h }),
          cut: cutLogit(params.threshold),
        }).starts,
      ),
      evaluated.starts[h],
    );
    // The stand-in at its best threshold on this very input (a generous comparison).
    let cosine = 0;
    let best = 0;
    for (let threshold = -0.5; threshold <= 0.95; threshold += 0.05) {
      const f1 = boundaryF1(
        inner(chunkKeys(SHAPE, evaluated.inputs.k, { ...params, threshold }, h).starts),
        evaluated.starts[h],
      );
      if (f1 > cosine) [cosine, best] = [f1, threshold];
    }
    assert(
      trained > cosine,
      `head ${h}: trained F1 ${trained.toFixed(3)}, cosine at best (${best.toFixed(2)}) ${
        cosine.toFixed(3)
      }`,
    );
  }
});
