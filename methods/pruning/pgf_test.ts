import { assertAlmostEquals, assertEquals, assertThrows } from "../../tests/assert.ts";
import { sparseTrainingOf, trainingStepFlops } from "../../bench/families/pruning/mod.ts";
import { Linear } from "../../bench/nn/layers.ts";
import { flowDecay, flowMask, pgfSparseTraining, stepwisePattern } from "./pgf.ts";

Deno.test("flowDecay() decays β linearly or exponentially by step, 0 from fine-tuning on", () => {
  const linear = { schedule: "linear" as const, decay: 1e-3, fineTuneStart: 2000 };
  assertEquals(flowDecay(0, linear), 1);
  assertAlmostEquals(flowDecay(250, linear), 0.75, 1e-12);
  assertEquals(flowDecay(1000, linear), 0);
  assertEquals(flowDecay(1500, linear), 0);
  const exp = { ...linear, schedule: "exp" as const };
  assertAlmostEquals(flowDecay(1000, exp), Math.exp(-1), 1e-12);
  assertAlmostEquals(flowDecay(1999, exp), Math.exp(-1.999), 1e-12);
  assertEquals(flowDecay(2000, exp), 0);
});

Deno.test("flowMask() is 1 on kept weights and β on pruned ones", () => {
  assertEquals([...flowMask(Float32Array.from([1, 0, 0, 1]), 0.25)], [1, 0.25, 0.25, 1]);
  assertEquals([...flowMask(Float32Array.from([1, 0]), 0)], [1, 0]);
});

Deno.test("pgf's trainer scales the pruned weights by β in the forward, exactly N:M at the end", () => {
  const training = sparseTrainingOf(pgfSparseTraining)!;
  // One row of 6 inputs at 2:4: groups [0..3] and the short [4, 5] (which keeps both).
  const layer = new Linear("fc", 6, 1);
  layer.weight.data.set([0.1, -0.9, 0.5, 0.2, 0.3, -0.4]);
  const params = { pattern: "2:4", schedule: "linear", decay: 0.25, fineTune: 0.5, width: 1 };
  // 8 steps, fine-tuning from step 4: β = 1, 0.75, 0.5, 0.25, then 0.
  const trainer = training.start({
    layers: [layer],
    totalSteps: 8,
    stepsPerEpoch: 8,
    resetOptimizerState: () => {},
  }, params);
  assertEquals([...layer.weight.mask!], [1, 1, 1, 1, 1, 1]);
  assertEquals(layer.weight.maskMode, "straight-through");
  // While β > 0 every weight enters the forward: the FLOPs count dense.
  assertEquals(trainingStepFlops([layer], 3, true).forward, 2 * 3 * 6);
  trainer.beforeForward!(2);
  assertEquals([...layer.weight.mask!], [0.5, 1, 1, 0.5, 1, 1]);
  // The forward's weight is W⊙(m + β(1−m)); the dense weights keep training (0.2 overtakes 0.5).
  assertEquals([...layer.weight.effective()], [0.05, -0.9, 0.5, 0.1, 0.3, -0.4].map(Math.fround));
  layer.weight.data[3] = 0.6;
  trainer.beforeForward!(3);
  assertEquals([...layer.weight.mask!], [0.25, 1, 0.25, 1, 1, 1]);
  trainer.beforeForward!(4);
  assertEquals([...layer.weight.mask!], [0, 1, 0, 1, 1, 1]);
  assertEquals(trainingStepFlops([layer], 3, true).forward, 2 * 3 * 4);
  assertEquals(trainer.denseWeightGradient(4), true);
  trainer.finish!();
  assertEquals(layer.weight.maskMode, "hard");
  assertEquals([...layer.weight.data], [0, -0.9, 0, 0.6, 0.3, -0.4].map(Math.fround));
  // Steps 2 and 3 ran with β > 0 (the trainer counts the ones its hooks saw).
  assertEquals(trainer.figures!(), { stepsWithFlow: 2, fineTuneStart: 4 });
  assertEquals(training.recipe(params), "pgf-linear-2of4-w1-a0.25-ft0.5");
  assertEquals(
    training.recipe({ ...params, schedule: "exp", decay: 1e-3, fineTune: 0.1, pattern: "1:8" }),
    "pgf-exp-1of8-w1",
  );
});

Deno.test("stepwisePattern() steps (M−1):M, M/2:M, … to N:M in equal frames before fine-tuning", () => {
  // 1:8: log2(8) + 1 = 4 frames over 800 steps: 7:8, 4:8, 2:8, 1:8.
  const at = (step: number) => stepwisePattern(step, { n: 1, m: 8 }, 800).n;
  assertEquals([0, 199, 200, 399, 400, 599, 600, 799, 800, 999].map(at), [
    7,
    7,
    4,
    4,
    2,
    2,
    1,
    1,
    1,
    1,
  ]);
  // 2:4: two frames, 3:4 then 2:4.
  assertEquals([0, 49, 50, 99, 100].map((t) => stepwisePattern(t, { n: 2, m: 4 }, 100).n), [
    3,
    3,
    2,
    2,
    2,
  ]);
  assertThrows(() => stepwisePattern(0, { n: 3, m: 8 }, 10), RangeError, "power of two");
});

Deno.test("pgf's stepwise trainer keeps a binary straight-through mask whose pattern steps down", () => {
  const training = sparseTrainingOf(pgfSparseTraining)!;
  // One row of 8 inputs at 1:8, 10 steps with fine-tuning from step 8: frames of 2 steps.
  const layer = new Linear("fc", 8, 1);
  layer.weight.data.set([0.1, -0.9, 0.5, 0.2, 0.3, -0.4, 0.8, -0.05]);
  const params = { pattern: "1:8", schedule: "stepwise", decay: 1e-3, fineTune: 0.2, width: 1 };
  const trainer = training.start({
    layers: [layer],
    totalSteps: 10,
    stepsPerEpoch: 10,
    resetOptimizerState: () => {},
  }, params);
  // 7:8 drops the smallest |w| (−0.05); 4:8 keeps −0.9, 0.8, 0.5, −0.4; 2:8 −0.9, 0.8; 1:8 −0.9.
  const kept = () => [...layer.weight.mask!];
  assertEquals(kept(), [1, 1, 1, 1, 1, 1, 1, 0]);
  assertEquals(layer.weight.maskMode, "straight-through");
  trainer.beforeForward!(2);
  assertEquals(kept(), [0, 1, 1, 0, 0, 1, 1, 0]);
  assertEquals(trainingStepFlops([layer], 3, true), {
    forward: 2 * 3 * 4,
    backwardInput: 2 * 3 * 4,
    backwardWeight: 2 * 3 * 8,
  });
  trainer.beforeForward!(4);
  assertEquals(kept(), [0, 1, 0, 0, 0, 0, 1, 0]);
  trainer.beforeForward!(9);
  assertEquals(kept(), [0, 1, 0, 0, 0, 0, 0, 0]);
  trainer.finish!();
  assertEquals(layer.weight.maskMode, "hard");
  assertEquals(trainer.figures!(), { stepsWithFlow: 0, fineTuneStart: 8, patternChanges: 3 });
});
