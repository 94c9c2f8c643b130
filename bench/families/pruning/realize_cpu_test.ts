import { assert, assertEquals } from "../../../tests/assert.ts";
import { maxError, seededMlp } from "../../../tests/fixtures/pruning.ts";
import { mulberry32 } from "../../random.ts";
import type { Mlp } from "../../nn/mlp.ts";
import { cpuCandidates, cpuKernelMetrics, installFastestCpuKernels } from "./mod.ts";

const MASKS = {
  /** A third of the weights, unstructured. */
  unstructured: (l: Mlp["layers"][number]) =>
    Float32Array.from({ length: l.weight.size }, (_, i) => (i * 7) % 3 === 0 ? 1 : 0),
  /** 2:4 along each row (the first two of every four). */
  "2:4": (l: Mlp["layers"][number]) =>
    Float32Array.from({ length: l.weight.size }, (_, i) => (i % l.inFeatures) % 4 < 2 ? 1 : 0),
};

Deno.test("installFastestCpuKernels() keeps the model's output on masked, N:M and shrunk layers", () => {
  const x = Float32Array.from({ length: 5 * 16 }, (_, i) => Math.sin(i));
  for (const [name, maskOf] of Object.entries(MASKS)) {
    const model = seededMlp([16, 12, 8, 3], 3);
    for (const l of model.layers) l.weight.setMask(maskOf(l));
    const expected = model.forward(x, 5);
    const installed = installFastestCpuKernels(model.layers, {
      rows: 5,
      nm: name === "2:4" ? { n: 2, m: 4 } : null,
      seed: 1,
      minMs: 0,
    });
    assertEquals(installed.choices.length, 3);
    assert(model.layers.every((l) => l.kernel !== null));
    assert(maxError(model.forward(x, 5), expected) < 1e-5, name);
    if (name === "2:4") {
      assert(installed.choices.every((c) => c.candidateMs["n:m"] !== undefined));
    }
    installed.remove();
    assert(model.layers.every((l) => l.kernel === null));
  }
});

Deno.test("cpuCandidates() offers a shrunk layer for removed units, exact through the consumer's zero columns", () => {
  const model = seededMlp([16, 12, 8, 3], 5);
  const [fc1, fc2] = model.layers;
  // Units 0, 3 and 7 of fc1 removed: their rows and fc2's columns gone (biases stay).
  const removed = [0, 3, 7];
  fc1.weight.setMask(
    Float32Array.from(
      { length: fc1.weight.size },
      (_, i) => removed.includes(Math.floor(i / 16)) ? 0 : 1,
    ),
  );
  fc2.weight.setMask(
    Float32Array.from({ length: fc2.weight.size }, (_, i) => removed.includes(i % 12) ? 0 : 1),
  );
  const x = Float32Array.from({ length: 4 * 16 }, (_, i) => Math.cos(i));
  const expected = model.forward(x, 4);
  const consumers = new Map([[fc1, fc2], [fc2, model.layers[2]]]);
  const shrunk = cpuCandidates(fc1, { consumer: fc2 }).find((c) => c.format === "shrunk");
  assert(shrunk, "a shrunk candidate for fc1");
  assertEquals(shrunk.macsPerRow, 9 * 16);
  // Shrunk fc1 gives 0, not relu(bias), for a removed unit; fc2 never reads it.
  const installed = installFastestCpuKernels(model.layers, {
    rows: 4,
    consumers,
    seed: 2,
    minMs: 0,
  });
  assert(maxError(model.forward(x, 4), expected) < 1e-5);
  for (const l of model.layers) l.macs.executed = l.macs.dense = 0;
  model.forward(x, 4);
  const chosen = installed.choices.map((c) => c.chosen.macsPerRow * 4);
  assertEquals(model.layers.map((l) => l.macs.executed), chosen);
  const metrics = cpuKernelMetrics(installed);
  assertEquals(metrics.dense_weight_bytes, (16 * 12 + 12 * 8 + 8 * 3) * 4);
  assert(metrics.kernel_fc1 >= 0 && metrics.kernel_fc1 <= 3);
  installed.remove();
});

Deno.test("installFastestCpuKernels() leaves a layer's own per-input kernel in place", () => {
  const model = seededMlp([8, 4, 2], 7);
  const own = {
    forward: (_x: Float32Array, rows: number) => ({ y: new Float32Array(rows * 4), macs: 0 }),
    onnx: () => "",
  };
  model.layers[0].kernel = own;
  const installed = installFastestCpuKernels(model.layers, { rows: 2, seed: 0, minMs: 0 });
  assertEquals(installed.choices.map((c) => c.layer), [model.layers[1]]);
  installed.remove();
  installed.remove();
  assertEquals(model.layers[0].kernel, own);
  assertEquals(model.layers[1].kernel, null);
});

Deno.test("cpuCandidates() runs a factorized layer through its factors, a sparse one in CSR", () => {
  const model = seededMlp([12, 7, 3], 9);
  const layer = model.layers[0], rank = 4;
  const random = mulberry32(4);
  // left [7 × 4] with two nonzeros per row (as CoSpaDi's coefficients), right [4 × 12] dense.
  const left = Float32Array.from(
    { length: 7 * rank },
    (_, i) => (i % rank) < 2 ? random() - 0.5 : 0,
  );
  const right = Float32Array.from({ length: rank * 12 }, () => random() - 0.5);
  for (let r = 0; r < 7; r++) {
    for (let c = 0; c < 12; c++) {
      let sum = 0;
      for (let k = 0; k < rank; k++) sum += left[r * rank + k] * right[k * 12 + c];
      layer.weight.data[r * 12 + c] = sum;
    }
  }
  const factors = { layer, rank, left, right, indexBytes: 0 };
  const factored = cpuCandidates(layer, { factors }).filter((c) => c.format === "factored");
  // Dense × dense, and the left factor's 14 nonzeros in CSR (right has no zeros).
  assertEquals(factored.map((c) => c.macsPerRow), [7 * rank + rank * 12, 7 * 2 + rank * 12]);
  const x = Float32Array.from({ length: 3 * 12 }, (_, i) => Math.sin(i + 1));
  const expected = layer.forward(x, 3);
  for (const candidate of factored) {
    const y = new Float32Array(3 * 7);
    candidate.run(x, 3, y);
    assert(maxError(y, expected) < 1e-5);
  }
});

Deno.test("cpuCandidates() offers only the dense kernel for a layer without zeros", () => {
  const model = seededMlp([8, 4, 2], 11);
  assertEquals(cpuCandidates(model.layers[0]).map((c) => c.format), ["dense"]);
  model.layers[0].weight.setMask(Float32Array.from({ length: 32 }, (_, i) => i === 3 ? 0 : 1));
  assertEquals(cpuCandidates(model.layers[0]).map((c) => c.format), ["dense", "csr"]);
});
