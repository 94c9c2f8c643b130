import { assertEquals } from "../../tests/assert.ts";
import { trainSotuLm } from "./train_sotu_lm.ts";

const TINY = {
  model: { vocab: 256, context: 16, dim: 16, heads: 2, layers: 1 },
  batch: 2,
  warmup: 2,
  saveEvery: 3,
  evalEvery: 1000,
};

Deno.test("trainSotuLm() resumed from a snapshot ends with the weights of an unbroken run", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const common = { log: () => {}, steps: 6, recipe: TINY, finalEval: false };
    const unbroken = await trainSotuLm({
      ...common,
      snapshot: new URL(`file://${dir}/a.safetensors`),
    });
    const snapshot = new URL(`file://${dir}/b.safetensors`);
    await trainSotuLm({ ...common, snapshot, stopAt: 3 });
    const resumed = await trainSotuLm({ ...common, snapshot, resume: true });
    resumed.forEach((p, k) => assertEquals(p.data, unbroken[k].data, p.name));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
