import { assert, assertEquals } from "../../tests/assert.ts";
import {
  correlatedInputs,
  factorOutputError,
  gramOf,
  twoBatchCalibration,
} from "../../tests/fixtures/pruning.ts";
import {
  checkPruneTarget,
  inputWhitening,
  type LayerToFactorize,
  pruneModel,
  truncatedSvd,
  whitenRows,
} from "../../bench/families/pruning/mod.ts";
import { Mlp } from "../../bench/nn/mlp.ts";
import { mulberry32, normal } from "../../bench/random.ts";
import { lowRankRank, svdLowRankLayer, svdLowRankPruning } from "./svd_lowrank.ts";

function layerOf(rows: number, cols: number, seed: number, budget: number): LayerToFactorize {
  const z = normal(mulberry32(seed));
  const weights = Float32Array.from({ length: rows * cols }, () => z() / Math.sqrt(cols));
  const n = 200, x = correlatedInputs(n, cols, seed + 1, DEAD_AND_SPREAD);
  return { weights, rows, cols, gram: gramOf(x, n, cols), samples: n, index: 0, budget };
}

/** The inputs these tests were written on: wider scales, less noise, dead features. */
const DEAD_AND_SPREAD = { scaleSpread: 0.7, noise: 0.2, deadFeatures: true };

Deno.test("lowRankRank() rounds the budget to a rank in [1, min(rows, cols)]", () => {
  assertEquals(lowRankRank(300, 784, 0.7 * 300 * 784), 152);
  assertEquals(lowRankRank(10, 100, 0.8 * 1000), 7);
  assertEquals(lowRankRank(10, 100, 3), 1);
  assertEquals(lowRankRank(10, 100, 1e6), 10);
});

Deno.test("svd-lowrank factorizes an MLP at 20%–50%, whitened or not, with factors that pass the gate", async () => {
  const n = 64, x = correlatedInputs(n, 40, 3, DEAD_AND_SPREAD);
  for (const compression of ["20%", "30%", "40%", "50%"]) {
    for (const whiten of [true, false]) {
      const mlp = new Mlp([40, 24, 12]);
      mlp.init(5);
      mlp.layers[0].weight.setMask(new Float32Array(24 * 40).fill(1));
      const params = { compression, whiten, damping: 0.01 };
      const outcome = await pruneModel(svdLowRankPruning, params, {
        id: "test-mlp",
        model: mlp,
        calibration: twoBatchCalibration(mlp, x, n),
      });
      const label = `${compression} whiten=${whiten}`;
      assert(outcome.targetCheck.passed, `${label}: ${outcome.targetCheck.description}`);
      const target = svdLowRankPruning.impl.target(params);
      const asked = Number(compression.slice(0, 2)) / 100, share = 1 - asked;
      assertEquals(target, { pattern: "factorized", compression: asked });
      assert(checkPruneTarget(mlp, target, outcome.report).passed, label);
      assert(Math.abs(outcome.realizedDensity - share) <= 0.02, label);
      const factors = outcome.report.factors ?? [];
      assertEquals(factors.map((f) => f.layer), mlp.linears());
      for (const f of factors) {
        assertEquals(f.layer.weight.mask, null);
        assertEquals(f.indexBytes, 0);
      }
      const metrics = outcome.report.metrics ?? {};
      assert(metrics.rank_mean > 0 && metrics.output_error_mean > 0, label);
      assert(metrics.output_error_max < 1, label);
    }
  }
});

Deno.test("svd-lowrank's gate fails when a weight is not its factors' product", async () => {
  const n = 64, x = correlatedInputs(n, 40, 3, DEAD_AND_SPREAD);
  const mlp = new Mlp([40, 24, 12]);
  mlp.init(5);
  const outcome = await pruneModel(
    svdLowRankPruning,
    { compression: "30%", whiten: true, damping: 0.01 },
    { id: "test-mlp", model: mlp, calibration: twoBatchCalibration(mlp, x, n) },
  );
  mlp.layers[1].weight.data[3] += 0.5;
  const check = checkPruneTarget(mlp, outcome.target, outcome.report);
  assert(!check.passed && check.description.includes("differs from its factors"));
});

Deno.test("svdLowRankLayer() whitened is the best rank-r fit of the layer's outputs, below plain weight SVD", () => {
  const rows = 30, cols = 21, budget = 0.5 * rows * cols;
  const layer = layerOf(rows, cols, 11, budget);
  const rank = lowRankRank(rows, cols, budget);
  const whitened = svdLowRankLayer(layer, { whiten: true, damping: 1e-9 });
  const plain = svdLowRankLayer(layer, { whiten: false, damping: 0.01 });
  assertEquals([whitened.rank, plain.rank], [rank, rank]);
  const eWhite = factorOutputError(layer.weights, whitened, rows, cols, layer.gram);
  const ePlain = factorOutputError(layer.weights, plain, rows, cols, layer.gram);
  assert(eWhite < 0.8 * ePlain, `whitened ${eWhite} vs plain ${ePlain}`);
  // Eckart–Young in the whitened space: the error is the dropped singular values of W·L.
  const lower = inputWhitening(layer.gram, cols, 1e-9);
  const s = truncatedSvd(whitenRows(layer.weights, rows, lower), rows, cols).s;
  const tail = s.subarray(rank).reduce((a, v) => a + v * v, 0) / s.reduce((a, v) => a + v * v, 0);
  assert(Math.abs(eWhite - tail) < 1e-4 * tail + 1e-7, `${eWhite} vs the tail ${tail}`);
});

Deno.test("svd-lowrank is deterministic", async () => {
  const n = 64, x = correlatedInputs(n, 40, 3, DEAD_AND_SPREAD);
  const run = async () => {
    const mlp = new Mlp([40, 24, 12]);
    mlp.init(5);
    await pruneModel(svdLowRankPruning, { compression: "40%", whiten: true, damping: 0.01 }, {
      id: "test-mlp",
      model: mlp,
      calibration: twoBatchCalibration(mlp, x, n),
    });
    return mlp.linears().flatMap((l) => [...l.weight.data]);
  };
  assertEquals(await run(), await run());
});
