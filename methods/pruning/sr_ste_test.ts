import { assertAlmostEquals, assertEquals } from "../../tests/assert.ts";
import { sparseTrainingOf } from "../../bench/families/pruning/mod.ts";
import { Linear } from "../../bench/nn/layers.ts";
import { srSteSparseTraining } from "./sr_ste.ts";

Deno.test("sr-ste's trainer re-masks N:M by |w| before every step, straight-through, hard at the end", () => {
  const training = sparseTrainingOf(srSteSparseTraining)!;
  // One row of 6 inputs at 2:4: groups [0..3] and the short [4, 5].
  const layer = new Linear("fc", 6, 1);
  layer.weight.data.set([0.1, -0.9, 0.5, 0.2, 0.3, -0.4]);
  const params = { pattern: "2:4", lambda: 0.5, width: 1 };
  const trainer = training.start({
    layers: [layer],
    totalSteps: 10,
    stepsPerEpoch: 10,
    resetOptimizerState: () => {},
  }, params);
  assertEquals([...layer.weight.mask!], [0, 1, 1, 0, 1, 1]);
  assertEquals(layer.weight.maskMode, "straight-through");
  // The dense weights keep training: 0.2 overtakes 0.5, and the next step's mask follows.
  layer.weight.data[3] = 0.6;
  trainer.beforeForward!(1);
  assertEquals([...layer.weight.mask!], [0, 1, 0, 1, 1, 1]);
  // The sparse-refined term on the pruned entries (0 and 2): λ·w.
  layer.weight.grad.fill(0);
  trainer.afterBackward!(1);
  [0.05, 0, 0.25, 0, 0, 0].forEach((g, i) => assertAlmostEquals(layer.weight.grad[i], g, 1e-7));
  assertEquals(trainer.denseWeightGradient(1), true);
  trainer.finish!();
  assertEquals(layer.weight.maskMode, "hard");
  assertEquals([...layer.weight.data], [0, -0.9, 0, 0.6, 0.3, -0.4].map(Math.fround));
  assertEquals(training.recipe(params), "sr-ste-2of4-w1-l0.5");
});

Deno.test("sr-ste at 1:8 keeps one weight of every 8 inputs, and the short last group's largest", () => {
  const training = sparseTrainingOf(srSteSparseTraining)!;
  // One row of 11 inputs: groups [0..7] (largest |w| at 5) and the short [8..10] (at 9).
  const layer = new Linear("fc", 11, 1);
  layer.weight.data.set([0.1, -0.2, 0.3, 0.05, -0.4, 0.9, 0.8, -0.85, 0.2, -0.6, 0.5]);
  const params = { pattern: "1:8", lambda: 2e-4, width: 1 };
  const trainer = training.start({
    layers: [layer],
    totalSteps: 1,
    stepsPerEpoch: 1,
    resetOptimizerState: () => {},
  }, params);
  assertEquals([...layer.weight.mask!], [0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0]);
  trainer.finish!();
  assertEquals(layer.weight.density(), 2 / 11);
  assertEquals(training.recipe(params), "sr-ste-1of8-w1");
  assertEquals(srSteSparseTraining.meta.parameters.pattern.sweep, ["2:4", "1:4", "1:8"]);
});
