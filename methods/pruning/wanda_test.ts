import { assert, assertEquals } from "../../tests/assert.ts";
import { countingCalibration } from "../../tests/fixtures/pruning.ts";
import { checkPruneTarget, pruneModel } from "../../bench/families/pruning/mod.ts";
import { Mlp } from "../../bench/nn/mlp.ts";
import { wandaPruning } from "./wanda.ts";

Deno.test("wanda realizes every target on an MLP and its N:M masks pass the gate", async () => {
  const x = Array.from({ length: 16 * 20 }, (_, i) => Math.sin(i * 0.37) + (i % 3));
  for (const target of ["50%", "70%", "90%", "95%", "2:4", "4:8", "1:4"]) {
    const model = new Mlp([20, 12, 8, 4]);
    model.init(11);
    const outcome = await pruneModel(wandaPruning, { target }, {
      id: "test-mlp",
      model,
      calibration: countingCalibration(model, x, 16),
    });
    assert(outcome.targetCheck.passed, `${target}: ${outcome.targetCheck.description}`);
    assert(checkPruneTarget(model, outcome.target).passed);
    if (outcome.target.pattern === "unstructured") {
      // Every row ends at the target: round(in · (1 − sparsity)) kept.
      const keep = 1 - outcome.target.sparsity;
      for (const l of model.linears()) {
        for (let r = 0; r < l.outFeatures; r++) {
          const row = l.weight.mask!.subarray(r * l.inFeatures, (r + 1) * l.inFeatures);
          assertEquals(row.reduce((n, m) => n + m, 0), Math.round(l.inFeatures * keep));
        }
      }
    }
  }
});
