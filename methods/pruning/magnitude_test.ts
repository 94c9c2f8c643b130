import { assert, assertEquals } from "../../tests/assert.ts";
import { checkPruneTarget, noCalibration, pruneModel } from "../../bench/families/pruning/mod.ts";
import { Mlp } from "../../bench/nn/mlp.ts";
import { magnitudeMasks, magnitudePruning } from "./magnitude.ts";

/** fc1 [2 × 3] and fc2 [2 × 2], weights set by hand (signs included: |W| is what counts). */
function smallMlp(): Mlp {
  const model = new Mlp([3, 2, 2]);
  model.layers[0].weight.data.set([1, -2, 3, -4, 5, -6]);
  model.layers[1].weight.data.set([0.1, -0.2, 0.3, -0.4]);
  return model;
}

const noData = noCalibration("magnitude pruning");

Deno.test("magnitudeMasks() keeps each layer's largest |W| with scope=layer", () => {
  // fc1 keeps 3 of 6: |−4|, 5, |−6|; fc2 keeps 2 of 4: 0.3, |−0.4|.
  const [fc1, fc2] = magnitudeMasks(
    smallMlp(),
    { pattern: "unstructured", sparsity: 0.5 },
    "layer",
  );
  assertEquals([...fc1], [0, 0, 0, 1, 1, 1]);
  assertEquals([...fc2], [0, 0, 1, 1]);
});

Deno.test("magnitudeMasks() with scope=global uses one threshold, so layers end where their weights earn", () => {
  // 10 weights at 50% keep the 5 largest overall: 6, 5, 4, 3, 2, all in fc1; fc2 is pruned away.
  const [fc1, fc2] = magnitudeMasks(
    smallMlp(),
    { pattern: "unstructured", sparsity: 0.5 },
    "global",
  );
  assertEquals([...fc1], [0, 1, 1, 1, 1, 1]);
  assertEquals([...fc2], [0, 0, 0, 0]);
});

Deno.test("magnitudeMasks() keeps N of every M inputs per row for N:M whatever the scope", () => {
  const model = new Mlp([6, 2]);
  // Rows of 6 inputs: groups [0..3] and the short [4, 5].
  model.layers[0].weight.data.set([1, -4, 2, 3, 7, -6, 0.5, 0.1, -0.3, 0.2, 1, 2]);
  const expected = [0, 1, 0, 1, 1, 1, 1, 0, 1, 0, 1, 1];
  for (const scope of ["layer", "global"] as const) {
    const [mask] = magnitudeMasks(model, { pattern: "n:m", n: 2, m: 4 }, scope);
    assertEquals([...mask], expected, scope);
  }
  const [one] = magnitudeMasks(model, { pattern: "n:m", n: 1, m: 4 }, "layer");
  assertEquals([...one], [0, 1, 0, 0, 1, 0, 1, 0, 0, 0, 0, 1]);
});

Deno.test("magnitude prunes a model in place: weights zeroed, targets realized, N:M patterns pass the gate", async () => {
  for (const target of ["50%", "70%", "90%", "95%", "2:4", "4:8", "1:4"]) {
    for (const scope of ["layer", "global"]) {
      const model = new Mlp([20, 12, 8, 4]);
      model.init(7);
      const outcome = await pruneModel(magnitudePruning, { target, scope }, {
        id: "test-mlp",
        model,
        calibration: noData,
      });
      assert(outcome.targetCheck.passed, `${target} ${scope}: ${outcome.targetCheck.description}`);
      assert(checkPruneTarget(model, outcome.target).passed);
      for (const l of model.linears()) {
        l.weight.mask!.forEach((m, i) => assert(m === 1 || l.weight.data[i] === 0));
      }
    }
  }
});
