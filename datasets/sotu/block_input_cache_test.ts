import { assert, assertEquals } from "../../tests/assert.ts";
import { batchCalibration, sparseGptPrune, wandaPrune } from "../../bench/families/pruning/mod.ts";
import { Gpt } from "../../bench/nn/gpt.ts";
import { BlockInputCache } from "./block_input_cache.ts";

const CONFIG = { vocab: 32, context: 8, dim: 16, heads: 2, layers: 3 };
const ids = Int32Array.from({ length: 4 * 8 }, (_, i) => (i * 7 + 3) % 32);

/** Two batches of two sequences, with or without the block-input cache. */
function calibrationOf(model: Gpt, cached: boolean) {
  const cache = new BlockInputCache(model);
  const batch = (b: number) => ids.subarray(b * 16, (b + 1) * 16);
  const calibration = batchCalibration({
    rows: 32,
    batches: 2,
    forward: (b, until) =>
      cached ? cache.forward(b, batch(b), 2, until) : void model.forward(batch(b), 2),
    backward: () => {
      throw new Error("no gradients here");
    },
    parameters: () => model.parameters(),
  });
  return { calibration, cache };
}

function seededGpt(): Gpt {
  const model = new Gpt(CONFIG);
  model.init(5);
  return model;
}

Deno.test("BlockInputCache: Wanda and SparseGPT prune a GPT exactly as with whole passes, resuming inside it", () => {
  for (const prune of [wandaPrune, sparseGptPrune]) {
    const plain = seededGpt(), cached = seededGpt();
    prune(plain, calibrationOf(plain, false).calibration, {
      pattern: "unstructured",
      sparsity: 0.5,
    });
    const { calibration, cache } = calibrationOf(cached, true);
    prune(cached, calibration, { pattern: "unstructured", sparsity: 0.5 });
    for (const [a, b] of plain.linears().map((l, i) => [l, cached.linears()[i]] as const)) {
      assertEquals(b.weight.mask, a.weight.mask, a.weight.name);
      assertEquals(b.weight.data, a.weight.data, a.weight.name);
    }
    // Layers of blocks 1, 2 and the head resume (once their block's entry is cached).
    assert(cache.passes.resumed > 0, `${prune.name} resumed`);
  }
});

Deno.test("BlockInputCache runs whole passes when an earlier block changed or an earlier layer is hooked", () => {
  const model = seededGpt();
  const cache = new BlockInputCache(model);
  const batch = ids.subarray(0, 16), head = model.head, first = model.blocks[0].fc;
  cache.forward(0, batch, 2, head);
  cache.forward(0, batch, 2, head);
  assertEquals(cache.passes, { resumed: 1, whole: 1 });
  first.weight.setMask(Float32Array.from({ length: first.weight.size }, (_, i) => i % 2));
  cache.forward(0, batch, 2, head);
  assertEquals(cache.passes, { resumed: 1, whole: 2 });
  const seen: number[] = [];
  first.inputHooks.push((_x, rows) => void seen.push(rows));
  cache.forward(0, batch, 2, head);
  assertEquals(cache.passes, { resumed: 1, whole: 3 });
  assertEquals(seen, [16]);
  // Without `until` every pass is whole.
  first.inputHooks.length = 0;
  cache.forward(0, batch, 2);
  assertEquals(cache.passes.whole, 4);
});
