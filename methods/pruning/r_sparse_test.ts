import { assert, assertAlmostEquals, assertEquals, assertThrows } from "../../tests/assert.ts";
import { forwardCalibration, mlpCalibration } from "../../tests/fixtures/pruning.ts";
import { executedMacShare, pruneModel, zeroMacCounters } from "../../bench/families/pruning/mod.ts";
import { Gpt } from "../../bench/nn/gpt.ts";
import { Linear } from "../../bench/nn/layers.ts";
import { Mlp } from "../../bench/nn/mlp.ts";
import { exportGptOnnx, exportMlpOnnx } from "../../bench/nn/onnx.ts";
import { ortGptLogits, ortMlpLogits, ortSession } from "../../bench/nn/ort.ts";
import { mulberry32, normal } from "../../bench/random.ts";
import { rSparseFactors, rSparseLayer, rSparsePrune, rSparsePruning } from "./r_sparse.ts";
import { RSparseKernel } from "./r_sparse_kernel.ts";

/**
 * Seeded rows [n × cols] of one distribution per width (a few latent factors plus noise, some
 * channels larger than others): different seeds draw different rows of the same distribution.
 */
function inputs(n: number, cols: number, seed: number): Float32Array {
  const d = normal(mulberry32(cols));
  const k = 4, mix = Float64Array.from({ length: k * cols }, d), x = new Float32Array(n * cols);
  const scale = Float64Array.from({ length: cols }, () => Math.exp(0.7 * d()));
  const z = normal(mulberry32(seed));
  for (let r = 0; r < n; r++) {
    const f = Array.from({ length: k }, z);
    for (let j = 0; j < cols; j++) {
      let s = 0.5 * z();
      for (let t = 0; t < k; t++) s += f[t] * mix[t * cols + j];
      x[r * cols + j] = s * scale[j];
    }
  }
  return x;
}

function layerOf(inF: number, out: number, seed: number): Linear {
  const layer = new Linear("fc", inF, out);
  const z = normal(mulberry32(seed));
  for (let i = 0; i < layer.weight.size; i++) layer.weight.data[i] = z();
  for (let i = 0; i < out; i++) layer.bias!.data[i] = z();
  return layer;
}

/** max |a − b| / (1 + max |b|): float32 sums in another order stay near 1e-7. */
function relDiff(a: Float32Array, b: Float32Array): number {
  let scale = 0;
  for (const v of b) scale = Math.max(scale, Math.abs(v));
  return maxAbsDiff(a, b) / (1 + scale);
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  assertEquals(a.length, b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}

const SHAPES = [[13, 7, 5], [7, 13, 4], [1, 6, 3], [9, 1, 2]];

Deno.test("RSparseKernel at full rank and threshold 0 equals the dense layer on odd shapes", () => {
  for (const [inF, out, rows] of SHAPES) {
    const layer = layerOf(inF, out, inF * 31 + out);
    const x = inputs(rows, inF, out);
    x[0] = 0; // a zero channel goes the low-rank way
    const rank = Math.min(inF, out);
    const kernel = new RSparseKernel(layer, rSparseFactors(layer, { threshold: 0, rank }));
    const { y, macs } = kernel.forward(x, rows);
    assert(relDiff(y, layer.forward(x, rows)) <= 1e-5, `${inF}→${out}`);
    assertEquals(macs, (rows * inF - 1) * out + rows * rank * (inF + out));
    assertEquals(kernel.stats, { rows, sparseChannels: rows * inF - 1 });
  }
});

Deno.test("RSparseKernel is the dense layer with every channel low-rank at full rank, or exact at rank 0", () => {
  for (const [inF, out, rows] of SHAPES) {
    const layer = layerOf(inF, out, inF * 17 + out);
    const x = inputs(rows, inF, inF), dense = layer.forward(x, rows);
    const rank = Math.min(inF, out);
    const lowRank = new RSparseKernel(layer, rSparseFactors(layer, { threshold: Infinity, rank }));
    const low = lowRank.forward(x, rows);
    assert(relDiff(low.y, dense) <= 1e-5, `${inF}→${out}: ${relDiff(low.y, dense)}`);
    assertEquals(low.macs, rows * rank * (inF + out));
    const exact = new RSparseKernel(layer, rSparseFactors(layer, { threshold: -1, rank: 0 }));
    const sparse = exact.forward(x, rows);
    assert(relDiff(sparse.y, dense) <= 1e-6, `${inF}→${out}: ${relDiff(sparse.y, dense)}`);
    assertEquals(sparse.macs, rows * inF * out);
  }
});

Deno.test("RSparseKernel refuses factors that do not fit its layer", () => {
  const layer = layerOf(5, 4, 1);
  const factors = rSparseFactors(layer, { threshold: 0, rank: 2 });
  assertThrows(() => new RSparseKernel(layer, { ...factors, rank: 3 }), RangeError, "rank 3");
  assertThrows(() => new RSparseKernel(layerOf(6, 4, 1), factors), RangeError);
});

Deno.test("rSparseLayer() keeps the budget and its error is what the kernel makes", () => {
  const layer = layerOf(24, 16, 3), x = inputs(300, 24, 4), rows = 300;
  const dense = layer.forward(x, rows);
  for (const sparsity of [0.4, 0.7]) {
    const { plan, factors } = rSparseLayer(layer, x, sparsity);
    assert(plan.channels * 16 + plan.rank * 40 <= (1 - sparsity) * 24 * 16 + 1e-9);
    const kernel = new RSparseKernel(layer, factors);
    const { y, macs } = kernel.forward(x, rows);
    assert(macs / (rows * 24 * 16) <= 1 - sparsity + 1e-9, `${sparsity}: ${macs}`);
    assert(macs / (rows * 24 * 16) >= 1 - sparsity - 0.05, `${sparsity}: ${macs}`);
    let err = 0, energy = 0;
    for (let i = 0; i < y.length; i++) {
      const b = layer.bias!.data[i % 16];
      err += (y[i] - dense[i]) ** 2;
      energy += (dense[i] - b) ** 2;
    }
    assertAlmostEquals(err / energy, plan.error, 1e-3 * plan.error + 1e-6);
    // The chosen split is no worse than all-exact (α = 1) or all-low-rank (α = 0) at the budget.
    for (const alpha of [0, 1]) {
      const other = splitError(layer, x, sparsity, alpha);
      assert(plan.error <= other * (1 + 1e-3) + 1e-9, `${sparsity}, α=${alpha}: ${other}`);
    }
  }
  assertThrows(() => rSparseLayer(layer, x, 1), RangeError, "'sparsity' must be in [0, 1)");
});

/**
 * The kernel's relative output error on `x` at sparse share `alpha` of the layer's budget,
 * built by hand (threshold by quantile, then the rank the rest pays for).
 */
function splitError(layer: Linear, x: Float32Array, sparsity: number, alpha: number): number {
  const n = layer.inFeatures, o = layer.outFeatures, rows = x.length / n;
  const { scale } = rSparseFactors(layer, { threshold: 0, rank: 0 });
  const scores = Array.from(x, (v, i) => Math.abs(v) * scale[i % n]).sort((a, b) => a - b);
  const keep = Math.round((1 - sparsity) * alpha * scores.length);
  const threshold = keep <= 0
    ? Infinity
    : keep >= scores.length
    ? -Infinity
    : scores[scores.length - keep - 1];
  let exact = 0;
  for (let i = 0; i < x.length; i++) if (Math.abs(x[i]) * scale[i % n] > threshold) exact++;
  const rank = Math.max(
    0,
    Math.min(Math.min(n, o), Math.floor(((1 - sparsity) * n * o - (exact / rows) * o) / (n + o))),
  );
  const kernel = new RSparseKernel(layer, rSparseFactors(layer, { threshold, rank }));
  const y = kernel.forward(x, rows).y, dense = layer.forward(x, rows);
  let err = 0, energy = 0;
  for (let i = 0; i < y.length; i++) {
    err += (y[i] - dense[i]) ** 2;
    energy += (dense[i] - layer.bias!.data[i % o]) ** 2;
  }
  return err / energy;
}

Deno.test("r-sparse realizes the skipped share on held-out rows and passes the gate", async () => {
  for (const sparsity of ["40%", "50%", "60%", "70%"]) {
    const model = new Mlp([24, 40, 20, 5]);
    model.init(3);
    const outcome = await pruneModel(rSparsePruning, { sparsity }, {
      id: "test-mlp",
      model,
      calibration: mlpCalibration(model, inputs(512, 24, 1), 512),
    });
    assert(outcome.targetCheck.passed, outcome.targetCheck.description);
    const asked = Number(sparsity.slice(0, -1)) / 100;
    zeroMacCounters(model);
    model.forward(inputs(256, 24, 2), 256);
    const skipped = 1 - executedMacShare(model);
    assert(Math.abs(skipped - asked) <= 0.05, `${sparsity}: held-out rows skipped ${skipped}`);
    const m = outcome.report.metrics!;
    assert(
      Math.abs(m.skipped_share_calibration - asked) <= 0.02,
      `${sparsity}: ${m.skipped_share_calibration}`,
    );
    assert(m.channels_skipped > 0 && m.channels_skipped <= 1);
    assertEquals(model.linears().every((l) => l.kernel instanceof RSparseKernel), true);
  }
});

Deno.test("r-sparse is deterministic", () => {
  const run = () => {
    const model = new Mlp([24, 40, 20, 5]);
    model.init(3);
    const { plans, metrics } = rSparsePrune(model, mlpCalibration(model, inputs(128, 24, 1), 128), {
      sparsity: 0.5,
    });
    const { rsparse_search_ms: _, ...rest } = metrics;
    return { plans, rest, logits: [...model.forward(inputs(8, 24, 2), 8)] };
  };
  assertEquals(run(), run());
});

Deno.test("r-sparse's kernels export to ONNX and onnxruntime-web gives the engine's logits", async () => {
  const model = new Mlp([24, 40, 20, 5]);
  model.init(3);
  rSparsePrune(model, mlpCalibration(model, inputs(256, 24, 1), 256), { sparsity: 0.6 });
  const held = inputs(64, 24, 2);
  const session = await ortSession(exportMlpOnnx(model));
  try {
    const diff = maxAbsDiff(await ortMlpLogits(session, held, 64), model.forward(held, 64));
    assert(diff <= 1e-4, `MLP: max |diff| ${diff}`);
  } finally {
    await session.release();
  }

  const gpt = new Gpt({ vocab: 30, context: 16, dim: 24, heads: 3, layers: 2 });
  gpt.init(9);
  const u = mulberry32(4);
  const ids = Int32Array.from({ length: 8 * 16 }, () => Math.floor(u() * 30));
  const { plans } = rSparsePrune(gpt, forwardCalibration(() => void gpt.forward(ids, 8), 128, 1), {
    sparsity: 0.5,
  });
  assertEquals(plans.length, 9);
  const test = Int32Array.from({ length: 2 * 16 }, () => Math.floor(u() * 30));
  const gptSession = await ortSession(exportGptOnnx(gpt));
  try {
    const diff = maxAbsDiff(await ortGptLogits(gptSession, test, 2), gpt.forward(test, 2));
    assert(diff <= 1e-4, `GPT: max |diff| ${diff}`);
  } finally {
    await gptSession.release();
  }
});
