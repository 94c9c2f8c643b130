// Each attention method's extraFlops (the work it spends choosing what to attend to) against a
// count of what its selection passes do, made here by walking the rows, keys and levels of a
// small odd-shaped input rather than by the method's own formula. One convention throughout, the
// one attentionFlops uses for the attended pairs: work over the head dimension (dots and
// element-wise arithmetic on q, k, v rows or their pooled forms); per-score work (exps, maxima,
// scaling or comparing a score, sums of scores) is not counted.
import { assert, assertEquals } from "../../tests/assert.ts";
import { testGpu } from "../../tests/gpu.ts";
import { uploadStorage } from "../../bench/gpu/buffers.ts";
import type { ParamValues } from "../../bench/metadata.ts";
import {
  type AttentionShape,
  densePairsPerHead,
  keepCount,
  queryCount,
  queryOffset,
  randomInputs,
  runOnGpu,
} from "../../bench/families/attention/mod.ts";
import { attentionMethods } from "./mod.ts";
import { asaSamples } from "./asa.ts";
import { NO_SAMPLE } from "./asa_kernel.ts";

const CAUSAL: AttentionShape = { heads: 2, seq: 77, headDim: 16, causal: true };
const DECODING: AttentionShape = { heads: 2, seq: 91, headDim: 16, causal: true, queries: 5 };
// SparseD needs steps: 3 steps of 2 heads, the first dense at skip 0.2.
const STEPS: AttentionShape = { heads: 6, seq: 45, headDim: 16, causal: false, steps: 3 };
// Vertical-slash's non-causal rows see every key but score only the diagonals up to their position.
const NON_CAUSAL: AttentionShape = { heads: 2, seq: 77, headDim: 16, causal: false };

// AdaSpa at 4 steps of 2 heads searches twice; 77 keys make two key blocks of its 64.
const SEARCH_STEPS: AttentionShape = { heads: 8, seq: 77, headDim: 16, causal: true, steps: 4 };

/** Shapes a method's count is checked on, where not CAUSAL and DECODING. */
const SHAPES: Record<string, AttentionShape[]> = {
  "sparsed-attention": [STEPS],
  "vertical-slash-attention": [CAUSAL, DECODING, NON_CAUSAL],
  // STEPS searches once at searchEvery 3, SEARCH_STEPS twice (steps 1 and 2 reuse step 0's).
  "adaspa-attention": [CAUSAL, DECODING, STEPS, SEARCH_STEPS],
};

/** Keys row `row` of `shape` can see. */
function visible(shape: AttentionShape, row: number): number {
  return shape.causal ? queryOffset(shape) + row + 1 : shape.seq;
}

/** q·k products of every visible (row, key) pair of one head, counted row by row. */
function visiblePairs(shape: AttentionShape): number {
  let pairs = 0;
  for (let row = 0; row < queryCount(shape); row++) pairs += visible(shape, row);
  return pairs;
}

/**
 * HiP's search as the GPU runs it, counted level by level: per query block, k chunks of the
 * visible key blocks, halved each level (every candidate of the 2k slots scored, for each row of
 * the block) until the widest chunk is one key block.
 */
function hipSearchFlops(shape: AttentionShape, p: ParamValues): number {
  const [bq, bk, density] = [Number(p.blockSizeQ), Number(p.blockSizeK), Number(p.density)];
  const queries = queryCount(shape);
  let pairs = 0;
  for (let first = 0; first < queries; first += bq) {
    const rows = Math.min(bq, queries - first);
    const seen = visible(shape, first + rows - 1);
    const units = Math.ceil(seen / bk);
    const keep = Math.min(units, Math.ceil(keepCount(seen, density) / bk));
    let widest = Math.ceil(units / keep);
    while (widest > 1) {
      widest = Math.ceil(widest / 2);
      pairs += 2 * keep * rows;
    }
  }
  return shape.heads * pairs * 2 * shape.headDim;
}

/**
 * Quest-style bounds as the block-top-k kernels compute them, walked key by key and row by row:
 * a min and a max per element of every key after its block's first, then per query row and
 * each key block its query block sees, two products, a max and an add per element. A decoding
 * query is its own query block at the default (queryBlock 0: auto), a prefill row shares one of
 * blockSize rows.
 */
function blockTopkFlops(shape: AttentionShape, p: ParamValues): number {
  const block = Number(p.blockSize);
  const queries = queryCount(shape);
  const rows = Number(p.queryBlock) > 0
    ? Number(p.queryBlock)
    : shape.queries === undefined
    ? block
    : 1;
  let flops = 0;
  for (let j = 0; j < shape.seq; j++) if (j % block !== 0) flops += 2 * shape.headDim;
  for (let row = 0; row < queries; row++) {
    const lastRow = Math.min(queries, (Math.floor(row / rows) + 1) * rows) - 1;
    const seen = shape.causal
      ? Math.floor((queryOffset(shape) + lastRow) / block) + 1
      : Math.ceil(shape.seq / block);
    flops += seen * 4 * shape.headDim;
  }
  return shape.heads * flops;
}

/**
 * SeerAttention's learned gate as its three passes run, walked key by key, row by row and block
 * by block: max, min and sum of every key element, a sum of every query element, the
 * projections (a multiply-add per weight: 3d × gateDim per key block, d × gateDim per query
 * block) and a gateDim-long dot per visible block pair. The pooled means' divisions and the
 * logit's scale, one per pooled element or pair, are not counted.
 */
function seerGateFlops(shape: AttentionShape, p: ParamValues): number {
  const [block, gateDim, d] = [Number(p.blockSize), Number(p.gateDim), shape.headDim];
  const queries = queryCount(shape);
  let flops = 0;
  for (let j = 0; j < shape.seq; j++) flops += 3 * d;
  for (let row = 0; row < queries; row++) flops += d;
  for (let kb = 0; kb < Math.ceil(shape.seq / block); kb++) flops += 2 * 3 * d * gateDim;
  for (let qb = 0; qb < Math.ceil(queries / block); qb++) {
    flops += 2 * d * gateDim;
    const lastRow = Math.min(queries, (qb + 1) * block) - 1;
    const seen = shape.causal
      ? Math.floor((queryOffset(shape) + lastRow) / block) + 1
      : Math.ceil(shape.seq / block);
    flops += seen * 2 * gateDim;
  }
  return shape.heads * flops;
}

/**
 * NOSA's selection passes walked key by key and row by row, at its defaults (both parts on:
 * round(256 · 0.5 / 32) = 4 query-aware blocks, 128 query-agnostic keys; groups of one row):
 * block means (an add per key element, a block's first one a multiply by 1/size instead), a
 * q · mean(k_block) per row and visible key block, and an |x| and an add per key element for the
 * key norms.
 */
function nosaFlops(shape: AttentionShape, p: ParamValues): number {
  const [block, rows, d] = [Number(p.blockSize), Number(p.queryBlock), shape.headDim];
  const queries = queryCount(shape);
  let flops = 0;
  // The trained eviction head: a multiply and an add per key and value element instead.
  const agnostic = p.trained ? 4 * d : 2 * d;
  for (let j = 0; j < shape.seq; j++) flops += d + agnostic;
  for (let row = 0; row < queries; row++) {
    const lastRow = Math.min(queries, (Math.floor(row / rows) + 1) * rows) - 1;
    const seen = shape.causal
      ? Math.floor((queryOffset(shape) + lastRow) / block) + 1
      : Math.ceil(shape.seq / block);
    flops += seen * 2 * d;
  }
  return shape.heads * flops;
}

/**
 * Anchor attention's passes walked row by row and block by block: a q·k for each init key and
 * each window key a row sees, a sum of every query element (pooling), and per query block a
 * pooled q·k for each visible key past the init keys (its scale-and-compare is per-score work).
 */
function anchorFlops(shape: AttentionShape, p: ParamValues): number {
  const [block, init, window, d] = [
    Number(p.blockSize),
    Number(p.initTokens),
    Number(p.window),
    shape.headDim,
  ];
  const queries = queryCount(shape);
  let flops = 0;
  for (let row = 0; row < queries; row++) {
    const pos = queryOffset(shape) + row;
    for (let j = 0; j < Math.min(init, visible(shape, row)); j++) flops += 2 * d;
    for (let o = 0; o < window && o <= pos; o++) flops += 2 * d;
    flops += d;
  }
  for (let first = 0; first < queries; first += block) {
    const last = Math.min(queries, first + block) - 1;
    for (let j = init; j < visible(shape, last); j++) flops += 2 * d;
  }
  return shape.heads * flops;
}

/**
 * Routing's spherical k-means walked point by point: normalising every key and query (a square,
 * an add and a division per element), each assignment round a dot with every centroid, each
 * update an add per member element (every point is a member of one centroid) and normalising
 * each centroid.
 */
function routingFlops(shape: AttentionShape, p: ParamValues): number {
  const d = shape.headDim;
  const clusters = Math.min(Number(p.clusters), shape.seq);
  const iterations = Number(p.iterations);
  const points = shape.seq + queryCount(shape);
  let flops = 0;
  for (let point = 0; point < points; point++) {
    flops += 3 * d;
    for (let round = 0; round <= iterations; round++) flops += clusters * 2 * d;
    flops += iterations * d;
  }
  flops += iterations * clusters * 3 * d;
  return shape.heads * flops;
}

/**
 * ASA's prober walked over the tokens it sampled (its seeded draw, asaSamples): per sampled
 * query row, a q·k for every sampled key it can see, in the log-sum-exp pass and again in the
 * pooling pass. The rank and budget passes add block importances: per-score work, not counted.
 */
function asaFlops(shape: AttentionShape, p: ParamValues): number {
  const [block, samples, d] = [Number(p.blockSize), Number(p.samples), shape.headDim];
  const { queries, keys } = asaSamples(shape, block, samples);
  const keyBlocks = Math.ceil(shape.seq / block);
  const queryBlocks = Math.ceil(queryCount(shape) / block);
  let flops = 0;
  for (let h = 0; h < shape.heads; h++) {
    for (let qb = 0; qb < queryBlocks; qb++) {
      const lastRow = Math.min(queryCount(shape), (qb + 1) * block) - 1;
      const seen = shape.causal
        ? Math.floor((queryOffset(shape) + lastRow) / block) + 1
        : keyBlocks;
      for (let r = 0; r < samples; r++) {
        const row = queries[(h * queryBlocks + qb) * samples + r];
        if (row === NO_SAMPLE) continue;
        for (let i = 0; i < seen * samples; i++) {
          const j = keys[h * keyBlocks * samples + i];
          if (j === NO_SAMPLE || (shape.causal && j > queryOffset(shape) + row)) continue;
          flops += 2 * 2 * d;
        }
      }
    }
  }
  return flops;
}

/**
 * Vertical-slash's estimate as its logits pass runs, walked over the last rows and the keys each
 * sees: it scales the row's q afresh for every key (a multiply per element) before its q·k. The
 * max, log-sum-exp and column and diagonal sums after it are per-score work, and the two top-k
 * selects integer radix passes: not counted.
 */
function verticalSlashFlops(shape: AttentionShape, p: ParamValues): number {
  const d = shape.headDim;
  const queries = queryCount(shape);
  const last = Math.min(queries, Number(p.lastQueries));
  let flops = 0;
  for (let row = queries - last; row < queries; row++) {
    for (let j = 0; j < visible(shape, row); j++) flops += d + 2 * d;
  }
  return shape.heads * flops;
}

/**
 * AdaSpa's search walked step by step and block by block: at each search step (the first, then
 * every searchEvery steps), per slice of the step, the search pass's q·k for every key of every
 * key block a query block's rows see; at the first step also the dense log-sum-exp pass's q·k
 * per visible pair. As for SeerAttention's oracle, whose two passes these are, the exps, scales
 * and the pooling's adds are not counted, nor the budget passes' few adds per block.
 */
function adaspaFlops(shape: AttentionShape, p: ParamValues): number {
  const [block, every, d] = [Number(p.blockSize), Number(p.searchEvery), shape.headDim];
  const steps = shape.steps ?? 1;
  const queries = queryCount(shape);
  let searchPairs = 0;
  for (let qb = 0; qb < Math.ceil(queries / block); qb++) {
    const lastRow = Math.min(queries, (qb + 1) * block) - 1;
    const own = Math.floor((queryOffset(shape) + lastRow) / block);
    for (let kb = 0; kb < Math.ceil(shape.seq / block); kb++) {
      if (shape.causal && kb > own) continue;
      const end = Math.min((kb + 1) * block, shape.seq);
      for (let row = qb * block; row <= lastRow; row++) {
        const last = shape.causal ? Math.min(end, queryOffset(shape) + row + 1) : end;
        for (let j = kb * block; j < last; j++) searchPairs++;
      }
    }
  }
  let flops = 0;
  for (let step = 0; step < steps; step += every) {
    for (let slice = 0; slice < shape.heads / steps; slice++) {
      if (step === 0) flops += visiblePairs(shape) * 2 * d;
      flops += searchPairs * 2 * d;
    }
  }
  return flops;
}

/** What each method's selection computes, for the methods an independent count is written for. */
const EXPECTED: Record<string, (shape: AttentionShape, p: ParamValues) => number> = {
  "dense-attention": () => 0,
  "dense-attention-per-query": () => 0,
  "sliding-window-attention": () => 0,
  "sink-window-attention": () => 0,
  // The pattern search runs offline at setup, outside the timed work.
  "sparse-vdit-attention": () => 0,
  // Every visible key scored once (a q·k: 2 FLOPs per element).
  "topk-oracle-attention": (s) => s.heads * visiblePairs(s) * 2 * s.headDim,
  // A log-sum-exp pass and a gate pass, each a q·k per visible pair.
  "seer-oracle-attention": (s) => s.heads * visiblePairs(s) * 2 * 2 * s.headDim,
  // The same two passes, on the pattern step's heads only.
  "sparsed-attention": (s) => (s.heads / (s.steps ?? 1)) * visiblePairs(s) * 2 * 2 * s.headDim,
  // One multiply-add per element of every value (its projection to an importance).
  "dynamic-mask-attention": (s) => s.heads * s.seq * s.headDim * 2,
  "dynamic-mask-trained-attention": (s) => s.heads * s.seq * s.headDim * 2,
  "hip-attention": hipSearchFlops,
  "block-topk-attention": blockTopkFlops,
  "seer-learned-attention": seerGateFlops,
  "nosa-attention": nosaFlops,
  "nosa-trained-attention": (shape, p) => nosaFlops(shape, { ...p, trained: 1 }),
  "anchor-attention": anchorFlops,
  "routing-attention": routingFlops,
  "asa-attention": asaFlops,
  "vertical-slash-attention": verticalSlashFlops,
  "adaspa-attention": adaspaFlops,
};

/** Methods without an independent count yet, and why. */
const NOT_COUNTED: Record<string, string> = {
  "dhsa-attention": "its extraFlops is an upper bound: chunk counts are known only on the GPU",
  "dhsa-trained-attention": "as dhsa-attention's: an upper bound, chunk counts known on the GPU",
  "ort-wasm-dense-attention": "the graph's masked scores need onnxruntime; not counted here yet",
  "ort-webgpu-dense-attention": "the graph's masked scores need onnxruntime; not counted here yet",
};

Deno.test("every attention method's extraFlops is counted here or said not to be", () => {
  const missing = attentionMethods.map((m) => m.meta.id).filter((id) =>
    !(id in EXPECTED) && !(id in NOT_COUNTED)
  );
  assertEquals(missing, []);
});

/** Each parameter's default. */
function defaults(parameters: Record<string, { default: unknown }>): ParamValues {
  return Object.fromEntries(
    Object.entries(parameters).map(([name, spec]) => [name, spec.default]),
  ) as ParamValues;
}

for (const method of attentionMethods.filter((m) => m.meta.id in EXPECTED)) {
  Deno.test({
    name: `${method.meta.id}: extraFlops equals a count of its selection's work`,
    ignore: testGpu === null,
    async fn() {
      const params = defaults(method.meta.parameters);
      const shapes = SHAPES[method.meta.id] ?? [CAUSAL, DECODING];
      for (const shape of shapes) {
        const host = randomInputs(shape, 4);
        const device = testGpu!.device;
        const inputs = {
          q: uploadStorage(device, host.q, "q"),
          k: uploadStorage(device, host.k, "k"),
          v: uploadStorage(device, host.v, "v"),
        };
        try {
          const kernel = await method.impl.setup(testGpu!, { shape, inputs, params });
          kernel.dispose();
          assertEquals(
            kernel.extraFlops,
            EXPECTED[method.meta.id](shape, params),
            JSON.stringify(shape),
          );
        } finally {
          for (const b of Object.values(inputs)) b.destroy();
        }
      }
    },
  });
}

// Methods whose selection works out every visible q·k exactly.
const SCORES_EVERY_KEY = ["topk-oracle-attention", "seer-oracle-attention"];

Deno.test({
  name:
    "scoredPairs() covers every attended pair and at most the dense ones, every key for oracles",
  ignore: testGpu === null,
  async fn() {
    const withHook = attentionMethods.filter((m) => m.impl.scoredPairs);
    assert(withHook.length >= 4, withHook.map((m) => m.meta.id).join(", "));
    for (const method of withHook) {
      const params = defaults(method.meta.parameters);
      for (const shape of [CAUSAL, DECODING, STEPS]) {
        const inputs = randomInputs(shape, 6);
        const { visited } = await runOnGpu(testGpu!, method.impl, { shape, inputs, params });
        const attended = visited.reduce((a, b) => a + b, 0);
        const dense = shape.heads * densePairsPerHead(shape);
        const scored = method.impl.scoredPairs!(shape, params, visited);
        const where = `${method.meta.id} ${JSON.stringify(shape)}`;
        assert(
          attended <= scored && scored <= dense,
          `${where}: ${attended} ≤ ${scored} ≤ ${dense}`,
        );
        if (SCORES_EVERY_KEY.includes(method.meta.id)) assertEquals(scored, dense, where);
      }
    }
  },
});
