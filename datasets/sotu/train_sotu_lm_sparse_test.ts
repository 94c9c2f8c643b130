import { assert, assertAlmostEquals, assertEquals } from "../../tests/assert.ts";
import type { SparseTraining } from "../../bench/families/pruning/mod.ts";
import { sparseLmLayers, trainSotuLmSparse } from "./train_sotu_lm_sparse.ts";
import { shortLmModel, trainSotuLmShort } from "./train_sotu_lm_short.ts";

const TINY = {
  model: { vocab: 256, context: 16, dim: 16, heads: 2, layers: 2 },
  batch: 2,
  steps: 4,
  warmup: 2,
  evalEvery: 1000,
  evalBytes: 64,
  sparse: { blockSize: 4, blocks: 2 },
};

/** No masks and no hooks: the loop alone. */
const NONE: SparseTraining = {
  recipe: () => "none",
  width: () => 1,
  start: () => ({ denseWeightGradient: () => true }),
};

/** Half of every sparse layer's weights, by a fixed pattern, held at zero (a hard mask). */
const HALF: SparseTraining = {
  recipe: () => "half",
  width: () => 1,
  start: (ctx) => {
    for (const l of ctx.layers) {
      l.weight.setMask(Float32Array.from({ length: l.weight.size }, (_, i) => i % 2));
    }
    return { denseWeightGradient: () => false };
  },
};

const run = (training: SparseTraining) =>
  trainSotuLmSparse({
    name: "tiny",
    method: { id: "test", version: "0" },
    training,
    params: {},
    recipe: TINY,
    log: () => {},
    write: false,
  });

Deno.test("trainSotuLmSparse() without masks is the short dense recipe, weight for weight", async () => {
  const [{ params }, dense] = await Promise.all([
    run(NONE),
    trainSotuLmShort({ variant: "dense", log: () => {}, recipe: TINY, write: false }),
  ]);
  params.forEach((p, k) => assertEquals(p.data, dense.params[k].data, p.name));
});

Deno.test("trainSotuLmSparse() keeps masked weights at zero and counts only kept ones' FLOPs", async () => {
  const { params, card } = await run(HALF);
  const { model } = shortLmModel({
    ...(await import("./train_sotu_lm_short.ts")).SOTU_LM_SHORT_RECIPE,
    ...TINY,
  });
  const names = new Set(sparseLmLayers(model).map((l) => l.weight.name));
  assertEquals(names.size, 8);
  for (const p of params) {
    if (!names.has(p.name)) {
      assertEquals(p.mask, null, p.name);
      continue;
    }
    assert(p.data.every((v, i) => i % 2 === 1 || v === 0), `${p.name} grew a masked weight`);
    assert(p.data.some((v) => v !== 0), p.name);
  }
  const density = card.density as Record<string, number>;
  for (const n of names) assertAlmostEquals(density[n], 0.5, 1e-12);
  const training = card.training as { flops: { total: number }; denseFlops: number };
  // Blocks' layers at half, the head dense: 16·(4·16²... ) per token.
  const blocks = 2 * (3 * 16 * 16 + 16 * 16 + 2 * 4 * 16 * 16), head = 256 * 16;
  const tokens = 4 * 2 * 16;
  assertEquals(training.denseFlops, 6 * tokens * (blocks + head));
  assertEquals(training.flops.total, 6 * tokens * (blocks / 2 + head));
});
