import { assert, assertEquals } from "../../tests/assert.ts";
import {
  correlatedInputs,
  factorOutputError,
  gramOf,
  twoBatchCalibration,
} from "../../tests/fixtures/pruning.ts";
import {
  checkPruneTarget,
  type LayerToFactorize,
  pruneModel,
} from "../../bench/families/pruning/mod.ts";
import { Mlp } from "../../bench/nn/mlp.ts";
import { mulberry32, normal } from "../../bench/random.ts";
import { cospadiLayer, cospadiPruning, dictionarySize, ksvd } from "./cospadi.ts";
import { svdLowRankLayer } from "./svd_lowrank.ts";

function nonzeros(a: ArrayLike<number>, from = 0, to = a.length): number {
  let n = 0;
  for (let i = from; i < to; i++) if (a[i] !== 0) n++;
  return n;
}

/** The inputs these tests were written on: wider scales, less noise, dead features. */
const DEAD_AND_SPREAD = { scaleSpread: 0.7, noise: 0.2, deadFeatures: true };

Deno.test("dictionarySize() keeps k/s at the ratio and the stored values nearest the budget", () => {
  assertEquals(dictionarySize(300, 784, 0.7 * 300 * 784, 2), { atoms: 176, nonzeros: 88 });
  assertEquals(dictionarySize(96, 64, 96 * 12 + 24 * 64, 2), { atoms: 24, nonzeros: 12 });
  assertEquals(dictionarySize(96, 64, 96 * 6 + 24 * 64, 4), { atoms: 24, nonzeros: 6 });
  for (const [rows, cols] of [[384, 128], [128, 512], [10, 100]]) {
    for (const share of [0.5, 0.6, 0.7, 0.8]) {
      const budget = share * rows * cols;
      const { atoms, nonzeros } = dictionarySize(rows, cols, budget, 2);
      assert(
        Math.abs(atoms / nonzeros - 2) <= 2 / nonzeros,
        `${rows}×${cols}: ${atoms}/${nonzeros}`,
      );
      // One more or one fewer atom does not come nearer.
      const gap = Math.abs(rows * nonzeros + atoms * cols - budget);
      assert(gap <= cols + rows, `${rows}×${cols} at ${share}: off by ${gap}`);
    }
  }
});

Deno.test("ksvd() never raises the error over its iterations and lowers it well below the first coding", () => {
  const [rows, cols, atoms, s] = [60, 40, 24, 12];
  const z = normal(mulberry32(21));
  const signals = Float64Array.from({ length: rows * cols }, z);
  const { errors, codes, dictionary } = ksvd(signals, rows, cols, {
    atoms,
    nonzeros: s,
    iterations: 12,
  });
  assertEquals(errors.length, 13);
  for (let t = 1; t < errors.length; t++) {
    assert(errors[t] <= errors[t - 1], `iteration ${t}: ${errors[t]} > ${errors[t - 1]}`);
  }
  assert(errors[12] < 0.9 * errors[0], `${errors[0]} → ${errors[12]}`);
  for (let r = 0; r < rows; r++) assert(nonzeros(codes, r * atoms, (r + 1) * atoms) <= s);
  for (let j = 0; j < atoms; j++) {
    const norm = Math.hypot(...dictionary.subarray(j * cols, (j + 1) * cols));
    assert(Math.abs(norm - 1) < 1e-9, `atom ${j}: norm ${norm}`);
  }
  // The reported error is the codes' and dictionary's.
  let residual = 0, total = 0;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      let p = 0;
      for (let j = 0; j < atoms; j++) p += codes[r * atoms + j] * dictionary[j * cols + c];
      residual += (signals[r * cols + c] - p) ** 2;
      total += signals[r * cols + c] ** 2;
    }
  }
  assert(Math.abs(residual / total - errors[12]) < 1e-9);
});

Deno.test("ksvd() with more atoms than dimensions, and 0 iterations, still codes every signal", () => {
  const z = normal(mulberry32(5));
  const signals = Float64Array.from({ length: 8 * 3 }, z);
  const over = ksvd(signals, 8, 3, { atoms: 6, nonzeros: 3, iterations: 3 });
  assert(over.errors[3] < 1e-20, `3 atoms of 6 span R³: ${over.errors[3]}`);
  assertEquals(ksvd(signals, 8, 3, { atoms: 2, nonzeros: 1, iterations: 0 }).errors.length, 1);
});

Deno.test("cospadi beats weight SVD at equal parameters on a layer that a union of subspaces fits", () => {
  // W = C·D + noise: 96 output units, each a mix of 12 of 24 atoms in a 64-input space, so
  // rank(W) = 24, while the budget 96·12 + 24·64 affords SVD rank round(2688/160) = 17.
  const [rows, cols, atoms, s] = [96, 64, 24, 12];
  const z = normal(mulberry32(8)), u = mulberry32(9);
  const dict = Float64Array.from({ length: atoms * cols }, z);
  const weights = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const picked = Array.from({ length: atoms }, (_, j) => j).sort(() => u() - 0.5).slice(0, s);
    for (const j of picked) {
      const c = z();
      for (let x = 0; x < cols; x++) weights[r * cols + x] += c * dict[j * cols + x] / 8;
    }
    for (let x = 0; x < cols; x++) weights[r * cols + x] += 0.01 * z();
  }
  const n = 256, inputs = correlatedInputs(n, cols, 10, DEAD_AND_SPREAD);
  const layer: LayerToFactorize = {
    weights,
    rows,
    cols,
    gram: gramOf(inputs, n, cols),
    samples: n,
    index: 0,
    budget: rows * s + atoms * cols,
  };
  const co = cospadiLayer(layer, { ratio: 2, iterations: 10, damping: 0.01 });
  assertEquals([co.rank, co.nonzeros], [atoms, s]);
  assertEquals(nonzeros(co.left) + nonzeros(co.right), layer.budget);
  const weightSvd = svdLowRankLayer(layer, { whiten: false, damping: 0.01 });
  assertEquals(weightSvd.rank, 17);
  const error = (f: { left: Float32Array; right: Float32Array; rank: number }) =>
    factorOutputError(layer.weights, f, layer.rows, layer.cols, layer.gram);
  const eCo = error(co), eSvd = error(weightSvd);
  assert(eCo < 0.5 * eSvd, `cospadi ${eCo} vs weight SVD ${eSvd}`);
  for (let t = 1; t < co.errors.length; t++) assert(co.errors[t] <= co.errors[t - 1]);
});

Deno.test("cospadi factorizes an MLP at 20%–50% with factors that pass the gate, sparse rows of s and their indices", async () => {
  const n = 64, x = correlatedInputs(n, 40, 3, DEAD_AND_SPREAD);
  for (const compression of ["20%", "30%", "40%", "50%"]) {
    const mlp = new Mlp([40, 24, 12]);
    mlp.init(5);
    mlp.layers[1].weight.setMask(new Float32Array(12 * 24).fill(1));
    const params = { compression, iterations: 4, ratio: 2, damping: 0.01 };
    const outcome = await pruneModel(cospadiPruning, params, {
      id: "test-mlp",
      model: mlp,
      calibration: twoBatchCalibration(mlp, x, n),
    });
    assert(outcome.targetCheck.passed, `${compression}: ${outcome.targetCheck.description}`);
    const target = cospadiPruning.impl.target(params);
    assert(checkPruneTarget(mlp, target, outcome.report).passed, compression);
    const share = 1 - Number(compression.slice(0, 2)) / 100;
    assert(Math.abs(outcome.realizedDensity - share) <= 0.02, compression);
    const factors = outcome.report.factors ?? [];
    assertEquals(factors.map((f) => f.layer), mlp.linears());
    const metrics = outcome.report.metrics ?? {};
    for (const f of factors) {
      assertEquals(f.layer.weight.mask, null);
      const rows = f.layer.outFeatures, stored = nonzeros(f.left);
      for (let r = 0; r < rows; r++) {
        assert(nonzeros(f.left, r * f.rank, (r + 1) * f.rank) <= Math.ceil(f.rank / 2));
      }
      assertEquals(f.indexBytes, stored);
    }
    assertEquals(metrics.index_bytes, factors.reduce((s, f) => s + f.indexBytes, 0));
    assert(metrics.whitened_error_final_mean <= metrics.whitened_error_initial_mean, compression);
    const slots = factors.reduce((s, f) => s + f.left.length, 0);
    assertEquals(metrics.coefficient_density, metrics.index_bytes / slots);
    assert(metrics.output_error_max < 1, compression);
  }
});

Deno.test("cospadi is deterministic", async () => {
  const n = 64, x = correlatedInputs(n, 40, 3, DEAD_AND_SPREAD);
  const run = async () => {
    const mlp = new Mlp([40, 24, 12]);
    mlp.init(5);
    await pruneModel(
      cospadiPruning,
      { compression: "30%", iterations: 3, ratio: 2, damping: 0.01 },
      {
        id: "test-mlp",
        model: mlp,
        calibration: twoBatchCalibration(mlp, x, n),
      },
    );
    return mlp.linears().flatMap((l) => [...l.weight.data]);
  };
  assertEquals(await run(), await run());
});
