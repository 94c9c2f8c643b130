import { assertAlmostEquals, assertEquals, assertThrows } from "../../tests/assert.ts";
import { sparseTrainingOf } from "../../bench/families/pruning/mod.ts";
import { Linear } from "../../bench/nn/layers.ts";
import { isoFlopDensities, sparseIftSparseTraining } from "./sparse_ift.ts";

Deno.test("isoFlopDensities() keeps each widened layer at its dense counterpart's weights", () => {
  assertEquals(isoFlopDensities(3, 2), [0.5, 0.25, 0.5]);
  assertEquals(isoFlopDensities(2, 4), [0.25, 0.25]);
  // 784-600-200-10 at those densities keeps 784·300 + 300·100 + 100·10 weights.
  const kept = 784 * 600 * 0.5 + 600 * 200 * 0.25 + 200 * 10 * 0.5;
  assertEquals(kept, 784 * 300 + 300 * 100 + 100 * 10);
});

Deno.test("sparse-ift's trainer: iso-FLOP masks on the 2× MLP, its target, RigL updates every ΔT", () => {
  const method = sparseIftSparseTraining, training = sparseTrainingOf(method)!;
  const params = { width: 2, updateEvery: 10, dropFraction: 0.3, seed: 0 };
  const target = method.impl.target(params);
  assertEquals(target.pattern, "unstructured");
  if (target.pattern === "unstructured") {
    assertAlmostEquals(target.sparsity, 1 - 266200 / 592400, 1e-12);
  }
  const layers = [
    new Linear("fc1", 784, 600),
    new Linear("fc2", 600, 200),
    new Linear("fc3", 200, 10),
  ];
  const trainer = training.start({
    layers,
    totalSteps: 40,
    stepsPerEpoch: 40,
    resetOptimizerState: () => {},
  }, params);
  assertEquals(layers.map((l) => l.weight.mask!.reduce((n, x) => n + x, 0)), [235200, 30000, 1000]);
  assertEquals([10, 20, 30].map((t) => trainer.denseWeightGradient(t)), [true, true, false]);
  // The reference-width MLP is not Sparse Wide's.
  const narrow = [
    new Linear("fc1", 784, 300),
    new Linear("fc2", 300, 100),
    new Linear("fc3", 100, 10),
  ];
  assertThrows(
    () =>
      training.start({
        layers: narrow,
        totalSteps: 1,
        stepsPerEpoch: 1,
        resetOptimizerState: () => {},
      }, params),
    RangeError,
    "784-600-200-10",
  );
  assertEquals(training.recipe(params), "sparse-ift-wide-w2-dt10");
});
