import { assertAlmostEquals, assertEquals } from "../../tests/assert.ts";
import { sparseTrainingOf, trainingStepFlops } from "../../bench/families/pruning/mod.ts";
import { Linear } from "../../bench/nn/layers.ts";
import { bdwpSparseTraining } from "./bdwp.ts";

Deno.test("bdwp's trainer runs the forward N:M by inputs and ∂x N:M by outputs, ∂W dense", () => {
  const training = sparseTrainingOf(bdwpSparseTraining)!;
  const layer = new Linear("fc", 4, 4, { bias: false });
  // deno-fmt-ignore
  layer.weight.data.set([
    4, 1, 0.5, 3,
    -2, 5, 0.1, 0.2,
    0.3, -0.4, 6, 1,
    1, 2, -3, 2.5,
  ]);
  const params = { pattern: "2:4", lambda: 0.5, width: 1 };
  const trainer = training.start({
    layers: [layer],
    totalSteps: 1,
    stepsPerEpoch: 1,
    resetOptimizerState: () => {},
  }, params);
  // Forward mask F: the 2 largest |w| of each row.
  const forward = [1, 0, 0, 1, 1, 1, 0, 0, 0, 0, 1, 1, 0, 0, 1, 1];
  trainer.beforeForward!(0);
  assertEquals([...layer.weight.mask!], forward);
  layer.forward(Float32Array.from([1, 1, 1, 1]), 1);
  // Backward mask B: the 2 largest |w| of each column (columns 4, −2, 0.3, 1 → rows 0 and 1;
  // 1, 5, −0.4, 2 → 1, 3; 0.5, 0.1, 6, −3 → 2, 3; 3, 0.2, 1, 2.5 → 0, 3).
  trainer.beforeBackward!(0);
  assertEquals([...layer.weight.mask!], [1, 0, 0, 1, 1, 1, 0, 0, 0, 0, 1, 0, 0, 1, 1, 1]);
  assertEquals(trainingStepFlops([layer], 1, true).backwardInput, 2 * 8);
  // ∂x = ∂y·(W⊙B) for ∂y = [0, 0, 1, 1]: rows 2 and 3 of W⊙B, [0, 0, 6, 0] + [0, 2, −3, 2.5]
  // (with F it would be [0, 0, 3, 3.5]).
  const dx = layer.backward(Float32Array.from([0, 0, 1, 1]));
  assertEquals([...dx], [0, 2, 3, 2.5]);
  // ∂W = ∂yᵀ·x is dense: ones on rows 2 and 3, pruned entries included; then the update's
  // λ·(1−F)⊙w on F's pruned entries, and F back in place.
  trainer.afterBackward!(0);
  assertEquals([...layer.weight.mask!], forward);
  const expected = [0, 0.5, 0.25, 0, 0, 0, 0.05, 0.1, 1.15, 0.8, 1, 1, 1.5, 2, 1, 1];
  expected.forEach((g, i) => assertAlmostEquals(layer.weight.grad[i], g, 1e-6));
  assertEquals(trainer.denseWeightGradient(0), true);
  trainer.finish!();
  assertEquals(layer.weight.maskMode, "hard");
  assertEquals([...layer.weight.data].filter((w) => w !== 0).length, 8);
  assertEquals(training.recipe(params), "bdwp-2of4-w1-l0.5");
  assertEquals(training.recipe({ ...params, lambda: 2e-4 }), "bdwp-2of4-w1");
});
