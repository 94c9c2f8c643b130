import { assert, assertEquals } from "../../tests/assert.ts";
import { trainSotuLm } from "./train_sotu_lm.ts";
import { trainSotuLmShort } from "./train_sotu_lm_short.ts";

const TINY = {
  model: { vocab: 256, context: 16, dim: 16, heads: 2, layers: 2 },
  batch: 2,
  steps: 4,
  warmup: 2,
  evalEvery: 1000,
  sparse: { blockSize: 4, blocks: 2 },
};

Deno.test("trainSotuLmShort() dense is sotu-lm's recipe at the short budget, weight for weight", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const { params } = await trainSotuLmShort({
      variant: "dense",
      log: () => {},
      recipe: TINY,
      write: false,
    });
    const reference = await trainSotuLm({
      log: () => {},
      steps: TINY.steps,
      recipe: { ...TINY, saveEvery: 1000 },
      finalEval: false,
      snapshot: new URL(`file://${dir}/s.safetensors`),
    });
    params.forEach((p, k) => assertEquals(p.data, reference[k].data, p.name));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("trainSotuLmShort() sparse and SSA train on other paths than dense, from the same batches", async () => {
  const run = (variant: "dense" | "sparse" | "ssa") =>
    trainSotuLmShort({ variant, log: () => {}, recipe: TINY, write: false });
  const [dense, sparse, ssa] = await Promise.all([run("dense"), run("sparse"), run("ssa")]);
  // The first step's loss is computed before any update: the full and sparse paths of one model.
  assertEquals(ssa.losses[0] === dense.losses[0] || ssa.losses[0] === sparse.losses[0], true);
  assert(sparse.losses[0] !== dense.losses[0], "the sparse path changed nothing");
  assert(ssa.params[4].data.some((v, i) => v !== dense.params[4].data[i]), "SSA trained as dense");
});
