import { assert, assertEquals } from "../../tests/assert.ts";
import {
  batchCalibration,
  type Calibration,
  checkPruneTarget,
  pruneModel,
} from "../../bench/families/pruning/mod.ts";
import { Mlp } from "../../bench/nn/mlp.ts";
import { mulberry32, normal } from "../../bench/random.ts";
import { sparseGptPruning } from "./sparsegpt.ts";

/**
 * Seeded inputs [n × cols] with correlated features (a quarter as many latent factors, plus
 * noise) on unequal scales, the way real activations look to a layer.
 */
function correlatedInputs(n: number, cols: number, seed: number): Float32Array {
  const z = normal(mulberry32(seed));
  const k = Math.max(2, Math.floor(cols / 4));
  const mix = Float64Array.from({ length: k * cols }, z);
  const scale = Float64Array.from({ length: cols }, () => Math.exp(0.5 * z()));
  const x = new Float32Array(n * cols);
  for (let r = 0; r < n; r++) {
    const f = Array.from({ length: k }, z);
    for (let j = 0; j < cols; j++) {
      let s = 0.3 * z();
      for (let t = 0; t < k; t++) s += f[t] * mix[t * cols + j];
      x[r * cols + j] = s * scale[j];
    }
  }
  return x;
}

/**
 * The calibration a task builds: `x` [rows × features] through the MLP in two batches, each
 * stopping at the layer `run({ until })` names.
 */
function calibrationOf(mlp: Mlp, x: Float32Array, rows: number): Calibration {
  const half = rows / 2, features = x.length / rows;
  return batchCalibration({
    rows,
    batches: 2,
    forward: (b) =>
      void mlp.forward(x.subarray(b * half * features, (b + 1) * half * features), half),
    backward: () => {
      throw new Error("SparseGPT needs no gradients");
    },
    parameters: () => mlp.parameters(),
  });
}

Deno.test("sparsegpt prunes an MLP to 50%, 70%, 2:4 and 4:8 with masks that pass the gate", async () => {
  const n = 48, x = correlatedInputs(n, 13, 31);
  for (const target of ["50%", "70%", "2:4", "4:8"]) {
    const mlp = new Mlp([13, 7, 5]);
    mlp.init(4);
    const outcome = await pruneModel(sparseGptPruning, { target, blockSize: 4, damping: 0.01 }, {
      id: "test-mlp",
      model: mlp,
      calibration: calibrationOf(mlp, x, n),
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
