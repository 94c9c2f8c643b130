// The image task end to end on a small case, GPU check when there is a GPU. The methods are the
// tests' own (tasks import no method): one keeps every weight, one prunes by magnitude.
import {
  assert,
  assertAlmostEquals,
  assertEquals,
  assertStringIncludes,
} from "../../tests/assert.ts";
import { testGpu } from "../../tests/gpu.ts";
import { calibrationSample, definePruningMethod } from "../../bench/families/pruning/mod.ts";
import { collectInputNorms } from "../../bench/nn/hooks.ts";
import { loadMnist } from "./mnist.ts";
import { mnistMlpAccuracy } from "./mnist_mlp_accuracy.ts";

const META = {
  family: "pruning",
  description: "a pruning method of the task's tests",
  paper: { title: "Learning both Weights and Connections", year: 2015, link: "https://a.org" },
  fidelity: { level: "faithful", reason: "a test fixture" },
  version: "1.0.0",
} as const;

const keepAll = definePruningMethod({
  ...META,
  id: "test-keep-all",
  title: "Keep all",
  parameters: {},
  capabilities: { requires: [], features: ["mlp"] },
  impl: {
    target: () => ({ pattern: "unstructured", sparsity: 0 }),
    prune: () => Promise.resolve({ pruneMs: 0 }),
  },
});

/** Magnitude pruning to `sparsity`, or a method that claims it and prunes nothing (`lies`). */
function magnitude(id: string, options: { lies?: boolean } = {}) {
  return definePruningMethod({
    ...META,
    id,
    title: "Magnitude",
    parameters: {
      sparsity: {
        type: "number",
        description: "share pruned",
        default: 0.95,
        min: 0,
        max: 1,
        sweep: [0.95],
      },
    },
    capabilities: { requires: [], features: ["mlp"] },
    impl: {
      target: (params) => ({ pattern: "unstructured", sparsity: params.sparsity }),
      prune(model, _calibration, target) {
        if (target.pattern !== "unstructured") throw new Error("unstructured only");
        if (options.lies) return Promise.resolve({ pruneMs: 0 });
        for (const layer of model.linears()) {
          const w = layer.weight.data;
          const cut = Float32Array.from(w, Math.abs).sort()[Math.floor(target.sparsity * w.length)];
          layer.weight.setMask(Float32Array.from(w, (v) => (Math.abs(v) >= cut ? 1 : 0)));
        }
        return Promise.resolve({ pruneMs: 0 });
      },
    },
  });
}

const ctx = {
  gpu: testGpu,
  seed: 1,
  taskSeed: 1,
  profile: "smoke",
  dump: false,
  minSampleMs: 10,
} as const;

Deno.test("mnist-mlp-accuracy scores and times the unpruned reference", async () => {
  const prepared = await mnistMlpAccuracy.impl.prepare({
    batch: 5,
    testImages: 500,
    calibration: 256,
  }, ctx);
  try {
    const reference = await prepared.referenceMetrics(keepAll, {});
    assert(reference.accuracy > 0.95, `accuracy ${reference.accuracy}`);
    assertEquals(reference.density, 1);
    const trial = await prepared.bind(keepAll, {});
    try {
      const sample = await trial.sample();
      assert(sample.wallMs > 0);
      const result = await trial.finish();
      assert(result.check.passed, result.check.description);
      assertEquals(result.metrics.accuracy, reference.accuracy);
      assert(Math.abs(result.metrics.accuracy_onnxruntime - reference.accuracy) <= 0.002);
    } finally {
      trial.dispose();
    }
  } finally {
    prepared.dispose();
  }
});

Deno.test("mnist-mlp-accuracy's accuracy interval over test images holds the point figure", async () => {
  const prepared = await mnistMlpAccuracy.impl.prepare({
    batch: 5,
    testImages: 500,
    calibration: 256,
  }, ctx);
  try {
    const m = await prepared.referenceMetrics(magnitude("test-magnitude-ci"), { sparsity: 0.95 });
    assert(
      m.accuracy_ci95_low <= m.accuracy && m.accuracy <= m.accuracy_ci95_high,
      `${m.accuracy_ci95_low} ≤ ${m.accuracy} ≤ ${m.accuracy_ci95_high}`,
    );
    assert(m.accuracy_ci95_low < m.accuracy_ci95_high, "some images misclassified");
    assert(m.accuracy_ci95_high - m.accuracy_ci95_low < 0.2);
  } finally {
    prepared.dispose();
  }
});

Deno.test("mnist-mlp-accuracy applies a method's masks: magnitude pruning at 95% loses accuracy", async () => {
  const method = magnitude("test-magnitude");
  const prepared = await mnistMlpAccuracy.impl.prepare({
    batch: 3,
    testImages: 500,
    calibration: 256,
  }, ctx);
  try {
    const dense = await prepared.referenceMetrics(keepAll, {});
    const pruned = await prepared.referenceMetrics(method, { sparsity: 0.95 });
    assert(Math.abs(pruned.density - 0.05) < 0.01, `density ${pruned.density}`);
    assert(pruned.accuracy < dense.accuracy, `${pruned.accuracy} vs ${dense.accuracy}`);
    const trial = await prepared.bind(method, { sparsity: 0.95 });
    try {
      await trial.sample();
      const result = await trial.finish();
      assert(result.check.passed, result.check.description);
      assertEquals(result.sparsity.nominalDensity, 1 - 0.95);
    } finally {
      trial.dispose();
    }
  } finally {
    prepared.dispose();
  }
});

Deno.test("mnist-mlp-accuracy fails the gate of a method whose masks miss its target", async () => {
  const method = magnitude("test-liar", { lies: true });
  const prepared = await mnistMlpAccuracy.impl.prepare({
    batch: 3,
    testImages: 100,
    calibration: 256,
  }, ctx);
  try {
    const trial = await prepared.bind(method, { sparsity: 0.95 });
    try {
      await trial.sample();
      const result = await trial.finish();
      assertEquals(result.check.passed, false);
      assertStringIncludes(result.check.description, "masks keep 1.0000 of the prunable weights");
    } finally {
      trial.dispose();
    }
  } finally {
    prepared.dispose();
  }
});

/** A method that keeps every weight and records what calibration fed the first layer. */
function recorder() {
  const seen: { rows: number; norms: Float64Array | null } = { rows: 0, norms: null };
  const method = definePruningMethod({
    ...META,
    id: "test-calibration-recorder",
    title: "Calibration recorder",
    parameters: {},
    capabilities: { requires: [], features: ["mlp"] },
    impl: {
      target: () => ({ pattern: "unstructured", sparsity: 0 }),
      prune(model, calibration) {
        const norms = collectInputNorms(model.linears()[0]);
        calibration.run({ until: model.linears()[0] });
        norms.detach();
        seen.rows = norms.rows();
        seen.norms = norms.value();
        return Promise.resolve({ pruneMs: 0 });
      },
    },
  });
  return { method, seen };
}

Deno.test("mnist-mlp-accuracy calibrates with training images drawn by a shuffle seeded with the task seed", async () => {
  const train = await loadMnist("train");
  const { method, seen } = recorder();
  const params = { batch: 1, testImages: 100, calibration: 300 };
  const prepared = await mnistMlpAccuracy.impl.prepare(params, ctx);
  try {
    const metrics = await prepared.referenceMetrics(method, {});
    assertEquals(metrics.calibration_rows, 300);
    assertEquals(seen.rows, 300);
    // ‖X_j‖ of the pixels of exactly the training images calibrationSample draws.
    const d = train.rows * train.cols, expected = new Float64Array(d);
    for (const row of calibrationSample(train.count, 300, ctx.taskSeed)) {
      for (let j = 0; j < d; j++) expected[j] += Math.fround(train.images[row * d + j] / 255) ** 2;
    }
    seen.norms!.forEach((v, j) => assertAlmostEquals(v, Math.sqrt(expected[j]), 1e-9));
  } finally {
    prepared.dispose();
  }
  // Another case of the same task and run (another case seed) reuses the pruned model.
  const first = seen.norms!;
  seen.norms = null;
  const sameTask = await mnistMlpAccuracy.impl.prepare({ ...params, batch: 256 }, {
    ...ctx,
    seed: 5,
  });
  try {
    await sameTask.referenceMetrics(method, {});
    assertEquals(seen.norms, null, "pruned once per task and run");
  } finally {
    sameTask.dispose();
  }
  const other = await mnistMlpAccuracy.impl.prepare(params, { ...ctx, taskSeed: 2 });
  try {
    await other.referenceMetrics(method, {});
    assert(seen.norms!.some((v, j) => Math.abs(v - first[j]) > 1e-6), "another seed, other images");
  } finally {
    other.dispose();
  }
});

Deno.test("mnist-mlp-accuracy reports each layer's realized density and the overall one", async () => {
  const prepared = await mnistMlpAccuracy.impl.prepare(
    { batch: 1, testImages: 100, calibration: 256 },
    ctx,
  );
  try {
    const m = await prepared.referenceMetrics(magnitude("test-magnitude-layers"), {
      sparsity: 0.95,
    });
    const sizes = { density_fc1: 784 * 300, density_fc2: 300 * 100, density_fc3: 100 * 10 };
    let kept = 0, total = 0;
    for (const [name, size] of Object.entries(sizes)) {
      assert(Math.abs(m[name] - 0.05) < 0.002, `${name} ${m[name]}`);
      kept += m[name] * size;
      total += size;
    }
    assertAlmostEquals(m.density, kept / total, 1e-12);
    assert(m.prune_ms >= 0);
  } finally {
    prepared.dispose();
  }
});
