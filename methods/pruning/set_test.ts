import { assertEquals } from "../../tests/assert.ts";
import { sparseTrainingOf } from "../../bench/families/pruning/mod.ts";
import { Linear } from "../../bench/nn/layers.ts";
import { mulberry32 } from "../../bench/random.ts";
import { setEvolve, setSparseTraining } from "./set.ts";

Deno.test("setEvolve() removes ζ of the smallest positive and largest negative weights, adds at random", () => {
  const weight = {
    data: Float32Array.from([0.5, 0.1, -0.2, -0.9, 0, 0]),
    mask: Float32Array.from([1, 1, 1, 1, 0, 0]),
  };
  // ζ = 0.5: round(0.5·2) positives (0.1) and negatives (−0.2) go; free positions 1, 2, 4, 5.
  // random() = 0.99 draws the last free one each time: 5, then (free now 5, 2, 4, 1) 1, which was
  // kept before and so keeps its weight; position 2 stays removed.
  const change = setEvolve(weight, 0.5, () => 0.99);
  assertEquals(change, { removed: [2], added: [5] });
  assertEquals([...weight.mask], [1, 1, 0, 1, 0, 1]);
  assertEquals([...weight.data], [0.5, 0.1, 0, -0.9, 0, 0].map(Math.fround));
});

Deno.test("setEvolve() keeps the kept count and treats a kept zero as the smallest positive", () => {
  const weight = {
    data: Float32Array.from([0, 0.4, 0.3, -0.5, 0, 0, 0, 0]),
    mask: Float32Array.from([1, 1, 1, 1, 0, 0, 0, 0]),
  };
  // Positives 0 (a kept zero), 0.4, 0.3 → round(0.34·3) = 1 goes: the zero; negatives: round(0.34) = 0.
  const change = setEvolve(weight, 0.34, () => 0);
  assertEquals(weight.mask.reduce((n, x) => n + x, 0), 4);
  // random() = 0 takes the first free position each time: position 0 itself, which comes back.
  assertEquals(change, { removed: [], added: [] });
});

Deno.test("set's trainer evolves at the start of every epoch after the first, sparse ∂W throughout", () => {
  const training = sparseTrainingOf(setSparseTraining)!;
  const layers = [new Linear("fc1", 30, 20), new Linear("fc2", 20, 5)];
  const random = mulberry32(1);
  for (const l of layers) l.weight.data.forEach((_, i, a) => (a[i] = random() - 0.5));
  let resets = 0;
  const params = { sparsity: "90%", width: 1, zeta: 0.3, seed: 0 };
  const trainer = training.start({
    layers,
    totalSteps: 30,
    stepsPerEpoch: 10,
    resetOptimizerState: () => resets++,
  }, params);
  const before = layers.map((l) => Float32Array.from(l.weight.mask!));
  for (const t of [0, 1, 9]) trainer.beforeForward!(t);
  assertEquals(layers.map((l) => [...l.weight.mask!]), before.map((m) => [...m]));
  trainer.beforeForward!(10);
  assertEquals(resets, 2);
  assertEquals(trainer.figures!().topologyUpdates, 1);
  assertEquals(trainer.denseWeightGradient(10), false);
  assertEquals(training.recipe(params), "set-s90-w1");
});
