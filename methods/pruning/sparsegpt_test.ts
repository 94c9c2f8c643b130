import { assert, assertEquals } from "../../tests/assert.ts";
import { correlatedInputs, twoBatchCalibration } from "../../tests/fixtures/pruning.ts";
import { checkPruneTarget, pruneModel } from "../../bench/families/pruning/mod.ts";
import { Mlp } from "../../bench/nn/mlp.ts";
import { sparseGptPruning } from "./sparsegpt.ts";

Deno.test("sparsegpt prunes an MLP to 50%, 70%, 2:4 and 4:8 with masks that pass the gate", async () => {
  const n = 48, x = correlatedInputs(n, 13, 31);
  for (const target of ["50%", "70%", "2:4", "4:8"]) {
    const mlp = new Mlp([13, 7, 5]);
    mlp.init(4);
    const outcome = await pruneModel(sparseGptPruning, { target, blockSize: 4, damping: 0.01 }, {
      id: "test-mlp",
      model: mlp,
      calibration: twoBatchCalibration(mlp, x, n),
    });
    assert(outcome.targetCheck.passed, `${target}: ${outcome.targetCheck.description}`);
    assert(checkPruneTarget(mlp, sparseGptPruning.impl.target({ target })).passed);
    for (const layer of mlp.linears()) {
      const { data, mask } = layer.weight;
      assert(mask !== null);
      for (let i = 0; i < data.length; i++) if (mask[i] === 0) assertEquals(data[i], 0);
    }
  }
});
