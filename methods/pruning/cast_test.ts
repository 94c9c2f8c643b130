import { assert, assertAlmostEquals, assertEquals } from "../../tests/assert.ts";
import { sparseTrainingOf } from "../../bench/families/pruning/mod.ts";
import { Linear } from "../../bench/nn/layers.ts";
import { castSparseTraining, l1Schedule, proximalL1 } from "./cast.ts";

const PARAMS = { pattern: "2:4", lambda: 1, maskEvery: 10, init: "scratch", width: 1 };

/** A trainer on `layers` with a constant learning rate. */
function start(layers: Linear[], totalSteps: number, params = PARAMS, lr = 0.1) {
  return sparseTrainingOf(castSparseTraining)!.start({
    layers,
    totalSteps,
    stepsPerEpoch: totalSteps,
    resetOptimizerState: () => {},
    learningRate: () => lr,
  }, params);
}

Deno.test("proximalL1 shrinks only the pruned entries and stops them at zero", () => {
  const w = Float32Array.from([0.3, -0.05, 0.5, -0.4]), mask = Float32Array.from([0, 0, 1, 0]);
  assertEquals(proximalL1(w, mask, 0.1), 1);
  [0.2, 0, 0.5, -0.3].forEach((v, i) => assertAlmostEquals(w[i], v, 1e-7));
  assertEquals(w[1], 0);
  assertAlmostEquals(l1Schedule(0, 2, 4), 0.5, 1e-12);
  assertEquals(l1Schedule(3, 2, 4), 2);
});

Deno.test("cast trains dense and slides into N:M: the pruned weights reach exactly zero before the final cut", () => {
  // One row of 8 inputs at 2:4, no gradient: only the decay acts (lr 0.1, λ ramped to 1 over 20
  // steps pulls a pruned weight by Σ 0.1·(s+1)/20 = 1.05 in all, more than any |w| here).
  const layer = new Linear("fc", 8, 1);
  layer.weight.data.set([0.3, -0.6, 0.2, 0.9, -0.5, 0.1, 0.4, -0.35]);
  const trainer = start([layer], 20);
  for (let step = 0; step < 20; step++) {
    trainer.beforeForward!(step);
    // The forward stays dense all along: no mask, so every product counts dense.
    assertEquals(layer.weight.mask, null);
    layer.weight.grad.fill(0);
    trainer.afterBackward!(step);
  }
  trainer.finish!();
  assertEquals([...layer.weight.data], [0, -0.6, 0, 0.9, -0.5, 0, 0.4, 0].map(Math.fround));
  assertEquals([...layer.weight.mask!], [0, 1, 0, 1, 1, 0, 1, 0]);
  const figures = trainer.figures!();
  assertEquals(figures.prunedMassAtEnd, 0);
  assertEquals(figures.prunedZerosAtEnd, 4);
  assertEquals(figures.maskFlips, 0);
});

Deno.test("cast's mask is recomputed only every maskEvery steps, so a pruned weight can win back", () => {
  const layer = new Linear("fc", 4, 1);
  layer.weight.data.set([0.5, 0.4, 0.1, 0.05]);
  const trainer = start([layer], 100, { ...PARAMS, maskEvery: 3 }, 1e-3);
  // The gradient drives entry 3 up past entry 1 (as the optimizer would): step 1 decays it again
  // (its mask is still the first one), step 3 re-masks and it is kept from then on.
  layer.weight.data[3] = 0.45;
  trainer.beforeForward!(1);
  assert(layer.weight.data[3] < 0.45);
  trainer.beforeForward!(3);
  const before = layer.weight.data[3];
  trainer.beforeForward!(4);
  assertEquals(layer.weight.data[3], before);
  assertEquals(trainer.figures!().maskFlips, 2);
});

Deno.test("cast's weight scaling takes one Adam step per row on Σ_j ∂L/∂W_rj·W_rj", () => {
  const layer = new Linear("fc", 2, 2);
  layer.weight.data.set([1, 2, 3, -1]);
  const trainer = start([layer], 10, PARAMS, 0.01);
  // Row 0: Σ g·w = 1·(−1) + 2·(−1) < 0, the loss falls as the row grows: scale 1 + lr.
  // Row 1: Σ g·w = 3·1 + (−1)·(−1) > 0: scale 1 − lr (Adam's first step is ±lr).
  layer.weight.grad.set([-1, -1, 1, -1]);
  trainer.afterBackward!(0);
  [1.01, 2.02, 2.97, -0.99].forEach((w, i) => assertAlmostEquals(layer.weight.data[i], w, 1e-5));
  assertAlmostEquals(trainer.figures!().meanRowScale, 1, 1e-9);
  assertEquals(trainer.distillation!(0), { task: 1, kd: 1, temperature: 2 });
  const training = sparseTrainingOf(castSparseTraining)!;
  assertEquals(training.recipe(PARAMS), "cast-2of4-w1");
  assertEquals(
    training.recipe({ ...PARAMS, init: "dense", maskEvery: 1 }),
    "cast-2of4-w1-fromdense-t1",
  );
});
