// The other sides of near-ties the gate accepts (tieAlternatives), on inputs built to tie: the
// second half of the keys and values repeats the first half up to float noise, so scores, block
// maxima and value scores come in near-equal pairs (anchor attention's θ and routing's keys are
// placed on their ties instead).
import { assert } from "../../tests/assert.ts";
import type { ParamValues } from "../../bench/metadata.ts";
import {
  type AttentionShape,
  queryCount,
  queryOffset,
  randomInputs,
} from "../../bench/families/attention/mod.ts";
import { blockStripes } from "./anchor_attention.ts";
import { attentionMethods } from "./mod.ts";

/** Random inputs whose key and value j + seq/2 is key and value j plus noise of `noise`. */
function pairedInputs(shape: AttentionShape, noise: number) {
  const inputs = randomInputs(shape, 21);
  const noiseOf = randomInputs(shape, 22);
  const { seq, headDim: d } = shape;
  const half = Math.floor(seq / 2);
  for (let head = 0; head < shape.heads; head++) {
    for (let j = 0; j < half; j++) {
      for (let i = 0; i < d; i++) {
        const from = (head * seq + j) * d + i;
        const to = (head * seq + j + half) * d + i;
        inputs.k[to] = inputs.k[from] + noise * noiseOf.k[to];
        inputs.v[to] = inputs.v[from] + noise * noiseOf.v[to];
      }
    }
  }
  return inputs;
}

const CAUSAL: AttentionShape = { heads: 2, seq: 96, headDim: 16, causal: true };
const STEPS: AttentionShape = { heads: 4, seq: 96, headDim: 16, causal: false, steps: 2 };

const ANCHOR = { blockSize: 16, initTokens: 2, window: 4 };

/**
 * Anchor attention's ties are with a threshold, not between paired keys: θ is moved so that the
 * last query block's threshold lands on the score of key 20, past every window of the block.
 */
function anchorOnTheThreshold(shape: AttentionShape): ParamValues {
  const inputs = pairedInputs(shape, 1e-7);
  const params = { ...ANCHOR, theta: 3 };
  const qb = Math.ceil(queryCount(shape) / ANCHOR.blockSize) - 1;
  const rows = queryCount(shape) - qb * ANCHOR.blockSize;
  const stripes = blockStripes({ shape, inputs, params }, 0, qb);
  return { ...params, theta: params.theta + (stripes.threshold - stripes.scores[20]) / rows };
}

/**
 * Parameters small enough for the shapes above to have a budget boundary to tie on (an odd keep
 * splits a pair of near-equal candidates).
 */
/**
 * Inputs on which routing's 2 seeded centroids (keys 24 and 72 of 96, no k-means rounds) tie:
 * in head 0, keys 40, 50, 60 and query row 90 point midway between the two seeds.
 */
function routingTieInputs(shape: AttentionShape) {
  const inputs = randomInputs(shape, 23);
  const d = shape.headDim;
  const unit = (j: number) => {
    const k = inputs.k.subarray(j * d, (j + 1) * d);
    const len = Math.hypot(...k);
    return Array.from(k, (x) => x / len);
  };
  const [a, b] = [unit(24), unit(72)];
  for (const j of [40, 50, 60]) inputs.k.set(a.map((x, i) => x + b[i]), j * d);
  inputs.q.set(a.map((x, i) => x + b[i]), 90 * d);
  return inputs;
}

const CASES: Record<
  string,
  { shape: AttentionShape; params: ParamValues; inputs?: ReturnType<typeof randomInputs> }
> = {
  "topk-oracle-attention": { shape: CAUSAL, params: { density: 0.1 } },
  "seer-oracle-attention": { shape: CAUSAL, params: { density: 0.3, blockSize: 8 } },
  "seer-learned-attention": {
    shape: CAUSAL,
    params: { density: 0.3, blockSize: 8, gateDim: 8, trainSteps: 20, trainBlocks: 4 },
  },
  "sparsed-attention": { shape: STEPS, params: { density: 0.3, blockSize: 8, skip: 0 } },
  "hip-attention": {
    shape: CAUSAL,
    params: { density: 0.2, blockSizeQ: 8, blockSizeK: 2, window: 4, representative: "middle" },
  },
  "dynamic-mask-attention": { shape: CAUSAL, params: { keep: 7, window: 4 } },
  "dynamic-mask-trained-attention": { shape: CAUSAL, params: { keep: 7, window: 4 } },
  "vertical-slash-attention": {
    shape: CAUSAL,
    params: { density: 0.2, verticalShare: 0.3, lastQueries: 16, window: 4, sinks: 1 },
  },
  "anchor-attention": { shape: CAUSAL, params: anchorOnTheThreshold(CAUSAL) },
  "adaspa-attention": { shape: STEPS, params: { recall: 0.5, searchEvery: 2, blockSize: 8 } },
  // Every token sampled, so that paired blocks have near-equal importances.
  "asa-attention": {
    shape: CAUSAL,
    params: { threshold: 0.6, samples: 8, minRetain: 0, maxRetain: 1, blockSize: 8 },
  },
  "routing-attention": {
    shape: CAUSAL,
    params: { clusters: 2, iterations: 0, window: 4 },
    inputs: routingTieInputs(CAUSAL),
  },
  "dhsa-attention": {
    shape: CAUSAL,
    params: { density: 0.2, threshold: 0.6, minChunk: 4, maxChunk: 8 },
  },
  "dhsa-trained-attention": {
    shape: CAUSAL,
    params: { density: 0.2, threshold: 0.5, minChunk: 4, maxChunk: 8 },
  },
  // 4 query-aware blocks of 8 (3 beside block 0) and 33 query-agnostic keys.
  "nosa-attention": {
    shape: CAUSAL,
    params: { budget: 65, queryAwareShare: 0.5, blockSize: 8, window: 4, queryBlock: 1 },
  },
  "nosa-trained-attention": {
    shape: CAUSAL,
    params: { budget: 65, queryAwareShare: 0.5, blockSize: 8, window: 4, queryBlock: 1 },
  },
};

Deno.test("CASES names every attention method that gives tie alternatives", () => {
  const giving = attentionMethods.filter((m) => m.impl.tieAlternatives).map((m) => m.meta.id);
  assert(giving.every((id) => id in CASES), giving.join(", "));
});

for (const method of attentionMethods.filter((m) => m.impl.tieAlternatives)) {
  Deno.test(`${method.meta.id}: tie alternatives exist on near-tie rows only, and are selections`, () => {
    const { shape, params, inputs } = CASES[method.meta.id];
    const problem = { shape, inputs: inputs ?? pairedInputs(shape, 1e-7), params };
    let withAlternatives = 0;
    for (let head = 0; head < shape.heads; head++) {
      for (let row = 0; row < queryCount(shape); row++) {
        const alternatives = method.impl.tieAlternatives!(problem, head, row);
        if (alternatives.length === 0) continue;
        const where = `head ${head}, row ${row}`;
        assert(method.impl.ambiguousRow!(problem, head, row), `${where}: alternatives, no tie`);
        withAlternatives++;
        const primary = [...method.impl.selectKeys(problem, head, row)].join();
        const last = shape.causal ? queryOffset(shape) + row : shape.seq - 1;
        for (const keys of alternatives) {
          assert(keys.every((k, i) => k >= 0 && k <= last && (i === 0 || k > keys[i - 1])), where);
          assert([...keys].join() !== primary, `${where}: an alternative equal to selectKeys'`);
        }
      }
    }
    assert(withAlternatives > 0, "the paired inputs gave no near-tie with an other side");
  });
}
