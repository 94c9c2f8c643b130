import { assertEquals } from "../../tests/assert.ts";
import { erkLayerDensities, sparseTrainingOf } from "../../bench/families/pruning/mod.ts";
import { Linear } from "../../bench/nn/layers.ts";
import { randomInitSparseTraining } from "./random_init.ts";

const shapes = [[784, 300], [300, 100], [100, 10]] as const;

function startWith(allocation: string, width: number) {
  const layers = shapes.map(([i, o], k) =>
    new Linear(`fc${k + 1}`, i * (k > 0 ? width : 1), o * (k < 2 ? width : 1))
  );
  const trainer = sparseTrainingOf(randomInitSparseTraining)!.start({
    layers,
    totalSteps: 1,
    stepsPerEpoch: 1,
    resetOptimizerState: () => {},
  }, { sparsity: "90%", allocation, width, seed: 0 });
  return { layers, trainer };
}

Deno.test("random-init keeps round(density·size) per layer, uniform or at ERK densities", () => {
  const uniform = startWith("uniform", 1);
  assertEquals(
    uniform.layers.map((l) => l.weight.mask!.reduce((n, x) => n + x, 0)),
    uniform.layers.map((l) => Math.round(0.1 * l.weight.size)),
  );
  const erk = startWith("erk", 2);
  const densities = erkLayerDensities(
    erk.layers.map((l) => ({ rows: l.outFeatures, cols: l.inFeatures })),
    0.1,
  );
  assertEquals(
    erk.layers.map((l) => l.weight.mask!.reduce((n, x) => n + x, 0)),
    erk.layers.map((l, i) => Math.round(densities[i] * l.weight.size)),
  );
  assertEquals(erk.layers[0].inFeatures, 784);
  assertEquals(erk.layers[1].outFeatures, 200);
});

Deno.test("random-init's mask is fixed: no hooks change it, ∂W sparse, hard mode", () => {
  const { layers, trainer } = startWith("erk", 1);
  assertEquals(trainer.beforeForward, undefined);
  assertEquals(trainer.afterBackward, undefined);
  assertEquals(trainer.denseWeightGradient(0), false);
  assertEquals(layers[0].weight.maskMode, "hard");
  // The same seed draws the same mask.
  const again = startWith("erk", 1);
  assertEquals([...again.layers[0].weight.mask!], [...layers[0].weight.mask!]);
});
