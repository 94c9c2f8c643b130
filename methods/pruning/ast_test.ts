import { assertAlmostEquals, assertEquals, assertThrows } from "../../tests/assert.ts";
import { sparseTrainingOf } from "../../bench/families/pruning/mod.ts";
import { Linear } from "../../bench/nn/layers.ts";
import { annealedDecay, astSparseTraining } from "./ast.ts";

const PARAMS = { pattern: "2:4", lambda: 0.5, init: "scratch", kd: 1, width: 1 };

Deno.test("ast anneals the pruned weights' decay from 0 to λ over the first half of the steps", () => {
  assertEquals(annealedDecay(0, 0.5, 10), 0);
  assertAlmostEquals(annealedDecay(4, 0.5, 10), 0.2, 1e-12);
  assertEquals(annealedDecay(10, 0.5, 10), 0.5);
  assertEquals(annealedDecay(25, 0.5, 10), 0.5);
  const training = sparseTrainingOf(astSparseTraining)!;
  const layer = new Linear("fc", 4, 1);
  layer.weight.data.set([0.1, -0.9, 0.5, 0.2]);
  const trainer = training.start({
    layers: [layer],
    totalSteps: 8,
    stepsPerEpoch: 8,
    resetOptimizerState: () => {},
  }, PARAMS);
  assertEquals([...layer.weight.mask!], [0, 1, 1, 0]);
  assertEquals(layer.weight.maskMode, "straight-through");
  // T = 8: the ramp ends at step 4, so step 2 decays the pruned entries (0 and 3) by 0.25·w.
  layer.weight.grad.fill(0);
  trainer.afterBackward!(2);
  [0.025, 0, 0, 0.05].forEach((g, i) => assertAlmostEquals(layer.weight.grad[i], g, 1e-7));
  layer.weight.grad.fill(0);
  trainer.afterBackward!(0);
  assertEquals([...layer.weight.grad], [0, 0, 0, 0]);
  // The mask follows the weights every step and the flips are counted.
  layer.weight.data[3] = 0.7;
  trainer.beforeForward!(1);
  assertEquals([...layer.weight.mask!], [0, 1, 0, 1]);
  assertEquals(trainer.figures!().maskFlips, 2);
  assertEquals(trainer.distillation!(1), { task: 1, kd: 1, temperature: 2 });
  assertEquals(trainer.denseWeightGradient(1), true);
});

Deno.test("ast ends exactly N:M in every layer (no per-layer reallocation), from the teacher when asked", () => {
  const training = sparseTrainingOf(astSparseTraining)!;
  const teacher = [new Linear("fc1", 8, 3), new Linear("fc2", 3, 2)];
  teacher.forEach((l, k) => l.weight.data.forEach((_, i, a) => a[i] = Math.sin(7 * i + k + 1)));
  const layers = [new Linear("fc1", 8, 3), new Linear("fc2", 3, 2)];
  const trainer = training.start({
    layers,
    totalSteps: 4,
    stepsPerEpoch: 4,
    resetOptimizerState: () => {},
    teacher,
  }, { ...PARAMS, pattern: "1:4", init: "dense" });
  assertEquals([...layers[1].weight.data], [...teacher[1].weight.data]);
  trainer.finish!();
  // 1 of every 4 inputs: fc1's rows of 8 keep 2 each; fc2's rows of 3 form one short group.
  assertEquals(layers[0].weight.density(), 0.25);
  assertEquals(layers[1].weight.density(), 1 / 3);
  assertEquals(layers[0].weight.maskMode, "hard");
  assertEquals(training.recipe({ ...PARAMS, lambda: 2e-4 }), "ast-2of4-w1");
  assertEquals(training.recipe({ ...PARAMS, init: "dense" }), "ast-2of4-w1-fromdense-l0.5");
  assertEquals(training.teacher!(PARAMS), "dense-trained-w1");
  assertEquals(training.recipe({ ...PARAMS, lambda: 2e-4, kd: 0 }), "ast-2of4-w1-kd0");
  assertThrows(
    () =>
      training.start({
        layers,
        totalSteps: 1,
        stepsPerEpoch: 1,
        resetOptimizerState: () => {},
      }, { ...PARAMS, init: "dense" }),
    RangeError,
    "loaded none",
  );
});
