import { assert, assertAlmostEquals, assertEquals, assertThrows } from "../../tests/assert.ts";
import { forwardCalibration, mlpCalibration } from "../../tests/fixtures/pruning.ts";
import { executedMacShare, pruneModel, zeroMacCounters } from "../../bench/families/pruning/mod.ts";
import { Gpt } from "../../bench/nn/gpt.ts";
import { Linear } from "../../bench/nn/layers.ts";
import { Mlp } from "../../bench/nn/mlp.ts";
import { exportGptOnnx, exportMlpOnnx } from "../../bench/nn/onnx.ts";
import { ortGptLogits, ortMlpLogits, ortSession } from "../../bench/nn/ort.ts";
import { mulberry32, normal } from "../../bench/random.ts";
import {
  activate,
  detectActivation,
  ftwtPrune,
  ftwtPruning,
  massLabels,
  predictorLogits,
} from "./ftwt.ts";
import { FtwtKernel, type FtwtPredictor } from "./ftwt_kernel.ts";

/**
 * Seeded rows [n × cols] of one distribution per width (a few latent factors plus noise, clipped
 * at 0 like pixels): different seeds draw different rows of the same distribution.
 */
function inputs(n: number, cols: number, seed: number): Float32Array {
  const d = normal(mulberry32(cols));
  const k = 4, mix = Float64Array.from({ length: k * cols }, d), x = new Float32Array(n * cols);
  const z = normal(mulberry32(seed));
  for (let r = 0; r < n; r++) {
    const f = Array.from({ length: k }, z);
    for (let j = 0; j < cols; j++) {
      let s = 0.3 * z();
      for (let t = 0; t < k; t++) s += f[t] * mix[t * cols + j];
      x[r * cols + j] = Math.max(0, s);
    }
  }
  return x;
}

function randomPredictor(inF: number, out: number, hidden: number, seed: number): FtwtPredictor {
  const z = normal(mulberry32(seed));
  return {
    hidden,
    down: Float32Array.from({ length: hidden * inF }, z),
    up: Float32Array.from({ length: out * hidden }, z),
    bias: Float32Array.from({ length: out }, z),
    threshold: 0,
  };
}

function layerOf(inF: number, out: number, seed: number): Linear {
  const layer = new Linear("fc", inF, out);
  const z = normal(mulberry32(seed));
  for (let i = 0; i < layer.weight.size; i++) layer.weight.data[i] = z();
  for (let i = 0; i < out; i++) layer.bias!.data[i] = z();
  return layer;
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  assertEquals(a.length, b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}

const trainedMlp = (() => {
  let cached: { model: Mlp; dense: Mlp; held: Float32Array } | null = null;
  return () => {
    if (cached) return cached;
    const sizes = [24, 40, 20, 5];
    const model = new Mlp(sizes), dense = new Mlp(sizes);
    model.init(3);
    dense.init(3);
    ftwtPrune(model, mlpCalibration(model, inputs(512, 24, 1), 512), {
      sparsity: 0.5,
      mass: 0.9,
      epochs: 30,
      seed: 0,
    });
    cached = { model, dense, held: inputs(256, 24, 2) };
    return cached;
  };
})();

Deno.test("FtwtKernel with every unit selected equals the dense layer on odd shapes", () => {
  for (const [inF, out, rows] of [[13, 7, 5], [1, 9, 3], [31, 1, 2]]) {
    const layer = layerOf(inF, out, inF * 100 + out);
    const x = Float32Array.from({ length: rows * inF }, normal(mulberry32(out)));
    const dense = layer.forward(x, rows);
    const predictor = { ...randomPredictor(inF, out, 2, 4), threshold: -Infinity };
    const kernel = new FtwtKernel(layer, { predictor, upstream: null });
    const { y, macs } = kernel.forward(x, rows);
    assert(maxAbsDiff(y, dense) <= 1e-5, `${inF}→${out}: ${maxAbsDiff(y, dense)}`);
    assertEquals(macs, rows * (2 * (inF + out) + inF * out));
    assertEquals([...kernel.lastMask!], Array(rows * out).fill(1));
  }
});

Deno.test("FtwtKernel computes only predicted units and skips the inputs its upstream gated off", () => {
  const first = layerOf(6, 8, 1), second = layerOf(8, 3, 2);
  const up = new FtwtKernel(first, { predictor: randomPredictor(6, 8, 2, 5), upstream: null });
  const down = new FtwtKernel(second, { predictor: null, upstream: up });
  const x = Float32Array.from({ length: 4 * 6 }, normal(mulberry32(9)));
  const h = up.forward(x, 4).y, mask = up.lastMask!;
  const dense = first.forward(x, 4);
  let on = 0;
  for (let i = 0; i < mask.length; i++) {
    assertEquals(h[i], mask[i] ? h[i] : 0);
    if (mask[i]) assertAlmostEquals(h[i], dense[i], 1e-5);
    on += mask[i];
  }
  assert(on > 0 && on < mask.length, `the random predictor selects ${on} of ${mask.length}`);
  const a = h.map((v) => activate("relu", v));
  const { y, macs } = down.forward(a, 4);
  assert(maxAbsDiff(y, second.forward(a, 4)) <= 1e-5);
  assertEquals(macs, 3 * on);
});

Deno.test("FtwtKernel refuses a predictor or an upstream of the wrong size", () => {
  const layer = layerOf(5, 4, 1);
  assertThrows(
    () => new FtwtKernel(layer, { predictor: randomPredictor(4, 4, 2, 1), upstream: null }),
    RangeError,
    "expected down 10",
  );
  const other = new FtwtKernel(layerOf(3, 7, 2), { predictor: null, upstream: null });
  assertThrows(() => new FtwtKernel(layer, { predictor: null, upstream: other }), RangeError);
});

Deno.test("massLabels() keeps the fewest units holding the mass, and none of an idle row", () => {
  const acts = Float32Array.of(1, -4, 2, 3, 0, 0, 0, 0);
  assertEquals([...massLabels(acts, 4, 0.7)], [0, 1, 0, 1, 0, 0, 0, 0]);
  assertEquals([...massLabels(acts, 4, 0.71)], [0, 1, 1, 1, 0, 0, 0, 0]);
  assertEquals([...massLabels(acts, 4, 1)], [1, 1, 1, 1, 0, 0, 0, 0]);
  assertThrows(() => massLabels(acts, 4, 0), RangeError, "'mass' must be in (0, 1]");
});

Deno.test("detectActivation() tells ReLU from GELU and from neither", () => {
  const z = Float32Array.of(-2, -0.5, 0, 0.3, 1.7);
  assertEquals(detectActivation(z, z.map((v) => activate("gelu", v))), "gelu");
  assertEquals(detectActivation(z, z.map((v) => activate("relu", v))), "relu");
  assertEquals(detectActivation(z, z.map((v) => 2 * v)), null);
});

Deno.test("ftwt realizes the skipped share on held-out rows and passes the gate", async () => {
  for (const sparsity of ["30%", "50%", "70%"]) {
    const model = new Mlp([24, 40, 20, 5]);
    model.init(3);
    const outcome = await pruneModel(ftwtPruning, {
      sparsity,
      mass: 0.9,
      predictorShare: 1 / 16,
      epochs: 30,
      seed: 0,
    }, { id: "test-mlp", model, calibration: mlpCalibration(model, inputs(512, 24, 1), 512) });
    assert(outcome.targetCheck.passed, outcome.targetCheck.description);
    const asked = Number(sparsity.slice(0, -1)) / 100;
    assertAlmostEquals(outcome.report.metrics!.skipped_share_calibration, asked, 0.01);
    zeroMacCounters(model);
    model.forward(inputs(256, 24, 2), 256);
    const skipped = 1 - executedMacShare(model);
    assert(Math.abs(skipped - asked) <= 0.05, `${sparsity}: held-out rows skipped ${skipped}`);
    assertEquals(model.linears().map((l) => l.kernel !== null), [true, true, true]);
  }
});

Deno.test("ftwt's predictors recall more of the top-k units than random ones of their density", () => {
  const { model, dense, held } = trainedMlp();
  let x = held;
  for (let i = 0; i < 2; i++) {
    const layer = dense.layers[i], kernel = model.layers[i].kernel as FtwtKernel;
    const p = kernel.predictor!;
    const labels = massLabels(
      dense.layers[i].forward(x, 256).map((v) => activate("relu", v)),
      layer.outFeatures,
      0.9,
    );
    const logits = predictorLogits(p, x, layer.inFeatures);
    let on = 0, hit = 0, positives = 0;
    for (let k = 0; k < labels.length; k++) {
      const pred = logits[k] > p.threshold;
      on += pred ? 1 : 0;
      positives += labels[k];
      hit += pred && labels[k] ? 1 : 0;
    }
    const density = on / labels.length, recall = hit / positives;
    // A random predictor of the same density recalls `density` of the targets on average.
    assert(recall > density + 0.15, `fc${i + 1}: recall ${recall} at density ${density}`);
    x = dense.layers[i].forward(x, 256).map((v) => activate("relu", v));
  }
});

Deno.test("ftwt is deterministic", () => {
  const run = () => {
    const model = new Mlp([24, 40, 20, 5]);
    model.init(3);
    const result = ftwtPrune(model, mlpCalibration(model, inputs(256, 24, 1), 256), {
      sparsity: 0.5,
      mass: 0.9,
      epochs: 5,
      seed: 7,
    });
    return { result, logits: model.forward(inputs(16, 24, 2), 16) };
  };
  const a = run(), b = run();
  // Everything but the training's wall time.
  const { ftwt_train_ms: _a, ...ma } = a.result.metrics;
  const { ftwt_train_ms: _b, ...mb } = b.result.metrics;
  assertEquals(ma, mb);
  assertEquals(a.result.threshold, b.result.threshold);
  assertEquals([...a.logits], [...b.logits]);
});

Deno.test("ftwt refuses a share beyond what its gated layers can skip, and a model with no gate", () => {
  const model = new Gpt({ vocab: 30, context: 16, dim: 24, heads: 3, layers: 1 });
  model.init(9);
  const ids = Int32Array.from({ length: 4 * 16 }, (_, i) => (i * 7) % 30);
  const calibration = forwardCalibration(() => void model.forward(ids, 4), 64, 1);
  let error = assertThrows(
    () => ftwtPrune(model, calibration, { sparsity: 0.7, mass: 0.9, epochs: 1, seed: 0 }),
    Error,
    "Cannot skip 70.0%",
  );
  assert(error.message.includes("blocks.0.mlp.fc.weight"), error.message);
  const single = new Mlp([6, 3]);
  single.init(1);
  error = assertThrows(
    () =>
      ftwtPrune(single, mlpCalibration(single, inputs(8, 6, 1), 8), {
        sparsity: 0.3,
        mass: 0.9,
        epochs: 1,
        seed: 0,
      }),
    Error,
    "Cannot gate any layer",
  );
});

Deno.test("ftwt's kernels export to ONNX and onnxruntime-web gives the engine's logits", async () => {
  const { model, held } = trainedMlp();
  const session = await ortSession(exportMlpOnnx(model));
  try {
    const diff = maxAbsDiff(await ortMlpLogits(session, held, 256), model.forward(held, 256));
    assert(diff <= 1e-4, `MLP: max |diff| ${diff}`);
  } finally {
    await session.release();
  }

  const gpt = new Gpt({ vocab: 30, context: 16, dim: 24, heads: 3, layers: 2 });
  gpt.init(9);
  const u = mulberry32(4);
  const ids = Int32Array.from({ length: 8 * 16 }, () => Math.floor(u() * 30));
  ftwtPrune(gpt, forwardCalibration(() => void gpt.forward(ids, 8), 128, 1), {
    sparsity: 0.3,
    mass: 0.9,
    epochs: 10,
    seed: 0,
  });
  assertEquals(gpt.linears().map((l) => l.kernel !== null), [
    false,
    false,
    true,
    true,
    false,
    false,
    true,
    true,
    false,
  ]);
  const test = Int32Array.from({ length: 2 * 16 }, () => Math.floor(u() * 30));
  const gptSession = await ortSession(exportGptOnnx(gpt));
  try {
    const diff = maxAbsDiff(await ortGptLogits(gptSession, test, 2), gpt.forward(test, 2));
    assert(diff <= 1e-4, `GPT: max |diff| ${diff}`);
  } finally {
    await gptSession.release();
  }
});
