import { assertAlmostEquals, assertEquals } from "../../tests/assert.ts";
import { sparseTrainingOf } from "../../bench/families/pruning/mod.ts";
import { Linear } from "../../bench/nn/layers.ts";
import { cubicSparsity, globalMagnitudePrune, granetSparseTraining } from "./granet.ts";

Deno.test("cubicSparsity() rises from s_i to s_f along (1 − progress)³", () => {
  const s = { initial: 0.5, final: 0.9, startStep: 100, endStep: 300 };
  assertEquals(cubicSparsity(0, s), 0.5);
  assertEquals(cubicSparsity(100, s), 0.5);
  assertAlmostEquals(cubicSparsity(200, s), 0.9 - 0.4 / 8, 1e-12);
  assertAlmostEquals(cubicSparsity(250, s), 0.9 - 0.4 / 64, 1e-12);
  assertEquals(cubicSparsity(300, s), 0.9);
  assertEquals(cubicSparsity(999, s), 0.9);
});

Deno.test("globalMagnitudePrune() prunes the weakest kept weights across layers to the count", () => {
  const a = new Linear("a", 3, 1), b = new Linear("b", 2, 1);
  a.weight.data.set([0.1, 0.5, -0.3]);
  b.weight.data.set([-0.2, 0.05]);
  a.weight.setMask(Float32Array.from([1, 1, 0]));
  b.weight.setMask(Float32Array.from([1, 1]));
  // Kept: 0.1, 0.5 (a) and −0.2, 0.05 (b); keep 2 → 0.05 and 0.1 go (a's pruned −0.3 is no candidate).
  assertEquals(globalMagnitudePrune([a, b], 2), [1, 1]);
  assertEquals([...a.weight.mask!], [0, 1, 0]);
  assertEquals([...b.weight.mask!], [1, 0]);
  assertEquals([...a.weight.data], [0, 0.5, 0].map(Math.fround));
  // Keeping more than are kept prunes nothing.
  assertEquals(globalMagnitudePrune([a, b], 5), [0, 0]);
});

Deno.test("granet's trainer: ERK at s_i, then each ΔT step to the cubic target with regrowth", () => {
  const training = sparseTrainingOf(granetSparseTraining)!;
  const layers = [new Linear("fc1", 40, 30), new Linear("fc2", 30, 10)];
  for (const l of layers) l.weight.data.forEach((_, i, a) => (a[i] = Math.sin(7 * i + 1)));
  const params = {
    sparsity: "90%",
    initialSparsity: 0.5,
    updateEvery: 10,
    regrowFraction: 0.5,
    endFraction: 0.75,
    width: 1,
    seed: 0,
  };
  // 40 steps: T_end = the last multiple of 10 by 30 = 30; pruning steps 10, 20, 30.
  const trainer = training.start({
    layers,
    totalSteps: 40,
    stepsPerEpoch: 40,
    resetOptimizerState: () => {},
  }, params);
  const kept = () => layers.reduce((n, l) => n + Math.round(l.weight.density() * l.weight.size), 0);
  assertEquals(kept(), 750);
  assertEquals([5, 10, 20, 30, 35].map((t) => trainer.denseWeightGradient(t)), [
    false,
    true,
    true,
    true,
    false,
  ]);
  for (const l of layers) l.weight.grad.forEach((_, i, a) => (a[i] = Math.cos(5 * i)));
  trainer.afterBackward!(10);
  // s_10 = 0.9 − 0.4·(2/3)³; regrowth keeps the count.
  assertEquals(kept(), Math.round((1 - (0.9 - 0.4 * (2 / 3) ** 3)) * 1500));
  trainer.afterBackward!(20);
  trainer.afterBackward!(30);
  assertEquals(kept(), 150);
  assertEquals(training.recipe(params), "granet-s90-from50-w1-dt10");
});
