// The image task end to end on a small case: dense method, GPU check when there is a GPU.
import { assert, assertEquals } from "../../tests/assert.ts";
import { testGpu } from "../../tests/gpu.ts";
import { densePruning } from "../../methods/pruning/dense.ts";
import type { PruningMethod } from "../../methods/pruning/interface.ts";
import { mnistMlpAccuracy } from "./mnist_mlp_accuracy.ts";

Deno.test("mnist-mlp-accuracy scores and times the dense reference", async () => {
  const prepared = await mnistMlpAccuracy.impl.prepare(
    { batch: 5, testImages: 500 },
    { gpu: testGpu, seed: 1, profile: "smoke", dump: false },
  );
  try {
    const reference = await prepared.referenceMetrics(densePruning, {});
    assert(reference.accuracy > 0.95, `accuracy ${reference.accuracy}`);
    assertEquals(reference.density, 1);
    const trial = await prepared.bind(densePruning, {});
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

Deno.test("mnist-mlp-accuracy applies a method's masks: magnitude pruning at 95% loses accuracy", async () => {
  const { defineMethod } = await import("../../bench/metadata.ts");
  const magnitude = defineMethod<PruningMethod>({
    ...densePruning.meta,
    id: "test-magnitude",
    impl: {
      target: () => ({ pattern: "unstructured", sparsity: 0.95 }),
      prune(model, _calibration, target) {
        if (target.pattern !== "unstructured") throw new Error("unstructured only");
        for (const layer of model.linears()) {
          const w = layer.weight.data;
          const cut = Float32Array.from(w, Math.abs).sort()[Math.floor(target.sparsity * w.length)];
          layer.weight.setMask(Float32Array.from(w, (v) => (Math.abs(v) >= cut ? 1 : 0)));
        }
        return Promise.resolve({ pruneMs: 0 });
      },
    },
  });
  const prepared = await mnistMlpAccuracy.impl.prepare(
    { batch: 3, testImages: 500 },
    { gpu: testGpu, seed: 1, profile: "smoke", dump: false },
  );
  try {
    const dense = await prepared.referenceMetrics(densePruning, {});
    const pruned = await prepared.referenceMetrics(magnitude, {});
    assert(Math.abs(pruned.density - 0.05) < 0.01, `density ${pruned.density}`);
    assert(pruned.accuracy < dense.accuracy, `${pruned.accuracy} vs ${dense.accuracy}`);
    const trial = await prepared.bind(magnitude, {});
    try {
      await trial.sample();
      const result = await trial.finish();
      assert(result.check.passed, result.check.description);
      assertEquals(result.sparsity?.nominalDensity, 1 - 0.95);
    } finally {
      trial.dispose();
    }
  } finally {
    prepared.dispose();
  }
});
