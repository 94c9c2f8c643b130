import { assert, assertAlmostEquals, assertEquals } from "../../tests/assert.ts";
import { sparseTrainingOf } from "../../bench/families/pruning/mod.ts";
import { Linear } from "../../bench/nn/layers.ts";
import type { Param } from "../../bench/nn/param.ts";
import { riglDropFraction, riglSparseTraining, riglUpdate } from "./rigl.ts";

Deno.test("riglDropFraction() anneals α/2·(1 + cos(πt/T_end)) from α to 0", () => {
  const s = { alpha: 0.3, endStep: 1000 };
  assertAlmostEquals(riglDropFraction(0, s), 0.3, 1e-12);
  assertAlmostEquals(riglDropFraction(500, s), 0.15, 1e-12);
  assertAlmostEquals(riglDropFraction(250, s), 0.15 * (1 + Math.SQRT1_2), 1e-12);
  assertEquals(riglDropFraction(1000, s), 0);
  assertEquals(riglDropFraction(1200, s), 0);
});

Deno.test("riglUpdate() drops the lowest |w| and grows the largest |gradient|, new weights at 0", () => {
  // Kept: 0 (0.5), 1 (−0.1), 3 (0.3), 5 (−0.8); fraction 0.5 → replace round(0.5·4) = 2.
  const weight = {
    data: Float32Array.from([0.5, -0.1, 0, 0.3, 0, -0.8]),
    grad: Float32Array.from([9, 0, -0.7, 0, 0.2, 0]),
    mask: Float32Array.from([1, 1, 0, 1, 0, 1]),
  };
  // Dropped: |−0.1| and |0.3|. Pruned now: 1, 2, 3, 4 with |g| 0, 0.7, 0, 0.2 → grow 2 and 4
  // (the kept position 0's large gradient does not count).
  assertEquals(riglUpdate(weight, 0.5), { dropped: [1, 3], grown: [2, 4] });
  assertEquals([...weight.mask], [1, 0, 1, 0, 1, 1]);
  assertEquals([...weight.data], [0.5, 0, 0, 0, 0, -0.8].map(Math.fround));
});

Deno.test("riglUpdate() can regrow a just-dropped connection, which keeps its weight", () => {
  const weight = {
    data: Float32Array.from([0.5, -0.1, 0]),
    grad: Float32Array.from([0, 3, 1]),
    mask: Float32Array.from([1, 1, 0]),
  };
  // Drop −0.1 (position 1); its gradient 3 beats position 2's 1, so it comes straight back.
  assertEquals(riglUpdate(weight, 0.5), { dropped: [], grown: [] });
  assertEquals([...weight.mask], [1, 1, 0]);
  assertAlmostEquals(weight.data[1], -0.1, 1e-7);
  // Ties in |gradient| go to the lower index.
  const tie = {
    data: Float32Array.from([1, 0, 0, 0.01]),
    grad: Float32Array.from([0, 2, 2, 0]),
    mask: Float32Array.from([1, 0, 0, 1]),
  };
  assertEquals(riglUpdate(tie, 0.5), { dropped: [3], grown: [1] });
});

Deno.test("rigl's trainer: ERK masks at the target, updates only at multiples of ΔT before T_end", () => {
  const training = sparseTrainingOf(riglSparseTraining)!;
  const layers = [new Linear("fc1", 40, 30), new Linear("fc2", 30, 10)];
  for (const l of layers) l.weight.data.forEach((_, i, a) => (a[i] = Math.sin(i + 1)));
  const resets: [string, number][] = [];
  const params = {
    sparsity: "90%",
    allocation: "erk",
    width: 1,
    updateEvery: 10,
    dropFraction: 0.3,
    endFraction: 0.75,
    seed: 0,
  };
  const trainer = training.start({
    layers,
    totalSteps: 40,
    stepsPerEpoch: 20,
    resetOptimizerState: (p: Param, indices) => resets.push([p.name, indices.length]),
  }, params);
  const sizes = layers.map((l) => Math.round(l.weight.density() * l.weight.size));
  // 10% of 1,500 weights, ERK's split (raw densities 70/1200 and 40/300) rounded per layer.
  assert(Math.abs(sizes[0] + sizes[1] - 150) <= 1, `kept ${sizes}`);
  assert(sizes[1] / 300 > sizes[0] / 1200, "ERK gives the smaller layer the higher density");
  // T_end = 30: updates at 10 and 20 only.
  assertEquals([0, 5, 10, 20, 30, 35].map((t) => trainer.denseWeightGradient(t)), [
    false,
    false,
    true,
    true,
    false,
    false,
  ]);
  for (const l of layers) l.weight.grad.forEach((_, i, a) => (a[i] = Math.cos(3 * i)));
  trainer.afterBackward!(5);
  assertEquals(resets.length, 0);
  trainer.afterBackward!(10);
  assertEquals(resets.map(([name]) => name), ["fc1.weight", "fc2.weight"]);
  // Each layer's kept count is unchanged by an update.
  assertEquals(layers.map((l) => Math.round(l.weight.density() * l.weight.size)), sizes);
  // Parameters at their defaults stay out of the recipe's name.
  assertEquals(training.recipe({ ...params, updateEvery: 100 }), "rigl-erk-s90-w1");
  assertEquals(training.recipe({ ...params, width: 2 }), "rigl-erk-s90-w2-dt10");
});
