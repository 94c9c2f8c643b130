import { assert, assertAlmostEquals, assertEquals, assertThrows } from "../../../tests/assert.ts";
import { Linear } from "../../nn/layers.ts";
import { Mlp } from "../../nn/mlp.ts";
import { mulberry32 } from "../../random.ts";
import {
  addSparseRefinedDecay,
  allocateLayerDensities,
  encodeSparseCheckpoint,
  erkLayerDensities,
  highestScoring,
  loadSparseCheckpoint,
  lowestScoring,
  nmMagnitudeMask,
  nmMagnitudeMaskAlongOutputs,
  packMask,
  randomMask,
  trainingCostMetrics,
  trainingStepFlops,
  unpackMask,
} from "./mod.ts";

Deno.test("trainingStepFlops() equals a hand count on a tiny model", () => {
  // fc1 3→2 (6 weights, mask keeps 4), fc2 2→1 (2 weights, no mask), batch of 5 rows.
  const fc1 = new Linear("fc1", 3, 2), fc2 = new Linear("fc2", 2, 1);
  fc1.weight.setMask(Float32Array.from([1, 0, 1, 1, 1, 0]));
  // Sparse ∂W: forward 2·5·(4+2) = 60, ∂x 60, ∂W 60.
  assertEquals(trainingStepFlops([fc1, fc2], 5, false), {
    forward: 60,
    backwardInput: 60,
    backwardWeight: 60,
  });
  // Dense ∂W (SR-STE, a RigL update step): ∂W = 2·5·(6+2) = 80; forward and ∂x unchanged.
  assertEquals(trainingStepFlops([fc1, fc2], 5, true), {
    forward: 60,
    backwardInput: 60,
    backwardWeight: 80,
  });
  // No mask anywhere: 6 FLOPs per weight per row, the dense count.
  fc1.weight.setMask(null);
  const dense = trainingStepFlops([fc1, fc2], 5, false);
  assertEquals(dense.forward + dense.backwardInput + dense.backwardWeight, 6 * 5 * 8);
});

Deno.test("erkLayerDensities() scales (n_in+n_out)/(n_in·n_out) and turns overfull layers dense", () => {
  // Raw densities 0.2 and 0.02; ε from 100·0.2ε + 10,000·0.02ε = 0.1·10,100.
  const [a, b] = erkLayerDensities([{ rows: 10, cols: 10 }, { rows: 100, cols: 100 }], 0.1);
  assertAlmostEquals(a, 0.2 * 1010 / 220, 1e-12);
  assertAlmostEquals(b, 0.02 * 1010 / 220, 1e-12);
  // At 50% the small layer would need 2.3: it turns dense and the big one keeps the rest.
  const [c, d] = erkLayerDensities([{ rows: 10, cols: 10 }, { rows: 100, cols: 100 }], 0.5);
  assertEquals(c, 1);
  assertAlmostEquals(d, (0.5 * 10100 - 100) / 10000, 1e-12);
  // The MNIST MLP at 90%: the classifier dense, the whole model at 10% exactly.
  const shapes = [{ rows: 300, cols: 784 }, { rows: 100, cols: 300 }, { rows: 10, cols: 100 }];
  const erk = erkLayerDensities(shapes, 0.1);
  assertEquals(erk[2], 1);
  const kept = erk.reduce((n, x, i) => n + x * shapes[i].rows * shapes[i].cols, 0);
  assertAlmostEquals(kept, 0.1 * 266200, 1e-6);
  assertEquals(allocateLayerDensities("uniform", shapes, 0.1), [0.1, 0.1, 0.1]);
  assertThrows(() => allocateLayerDensities("dense", shapes, 0.1), RangeError, "uniform");
  assertThrows(() => erkLayerDensities(shapes, 0), RangeError, "(0, 1]");
});

Deno.test("randomMask() keeps exactly round(density·size), the same for the same seed", () => {
  for (const [size, density] of [[1, 1], [7, 0.5], [1000, 0.1], [333, 0.05]]) {
    const a = randomMask(size, density, mulberry32(3)),
      b = randomMask(size, density, mulberry32(3));
    assertEquals(a.reduce((n, x) => n + x, 0), Math.round(size * density));
    assertEquals([...a], [...b]);
  }
  const other = randomMask(1000, 0.1, mulberry32(4));
  assert([...other].some((x, i) => x !== randomMask(1000, 0.1, mulberry32(3))[i]));
});

Deno.test("nmMagnitudeMask() keeps the N largest |w| of every M inputs per row, odd widths included", () => {
  // 2 rows × 6 inputs at 2:4: groups [0..3] and the short [4, 5] (which keeps both, a zero too).
  const w = Float32Array.from([0.1, -0.9, 0.5, 0.2, 3, -3, 1, 1, 1, -1, 0, 0.5]);
  assertEquals([...nmMagnitudeMask(w, 6, { n: 2, m: 4 })], [0, 1, 1, 0, 1, 1, 1, 1, 0, 0, 1, 1]);
  // 1:4 on a row of 5: the last group of one keeps it.
  const v = Float32Array.from([0, -2, 2, 1, 0.3]);
  assertEquals([...nmMagnitudeMask(v, 5, { n: 1, m: 4 })], [0, 1, 0, 0, 1]);
});

Deno.test("nmMagnitudeMaskAlongOutputs() keeps the N largest |w| of every M outputs per column", () => {
  // 5 rows (outputs) × 2 columns at 2:4: rows [0..3] form one group per column, row 4 a short
  // group of one, which keeps its entry.
  const w = Float32Array.from([
    0.1,
    4, //
    -0.9,
    3,
    0.5,
    -2,
    0.2,
    1,
    0,
    0.3,
  ]);
  const mask = nmMagnitudeMaskAlongOutputs(w, 2, { n: 2, m: 4 });
  assertEquals([...mask], [0, 1, 1, 1, 1, 0, 0, 0, 1, 1]);
  // The transpose of the row-wise rule: a 1-column weight is one group of outputs, a 1-row
  // weight a group of one per input.
  const v = Float32Array.from([0.1, -0.9, 0.5, 0.2]);
  assertEquals([...nmMagnitudeMaskAlongOutputs(v, 1, { n: 1, m: 4 })], [0, 1, 0, 0]);
  assertEquals([...nmMagnitudeMaskAlongOutputs(v, 4, { n: 1, m: 4 })], [1, 1, 1, 1]);
});

Deno.test("addSparseRefinedDecay() adds λ·w to the pruned weights' gradients only", () => {
  const w = {
    data: Float32Array.from([2, -4, 1, 3]),
    grad: Float32Array.from([0.5, 0.5, -1, 0]),
    mask: Float32Array.from([1, 0, 1, 0]),
  };
  addSparseRefinedDecay(w, 0.1);
  [0.5, 0.1, -1, 0.3].forEach((g, i) => assertAlmostEquals(w.grad[i], g, 1e-7));
});

Deno.test("lowestScoring() and highestScoring() pick among candidates, ties to the lower index", () => {
  const scores = [3, 1, 1, 5, 0, 5];
  assertEquals(lowestScoring(scores, [0, 1, 2, 3], 2), [1, 2]);
  assertEquals(highestScoring(scores, [5, 3, 0], 2), [3, 5]);
  assertEquals(highestScoring(scores, [4], 3), [4]);
});

Deno.test("packMask() and unpackMask() round-trip masks of any length", () => {
  for (const size of [1, 8, 9, 17, 100]) {
    const mask = randomMask(size, 0.4, mulberry32(size));
    assertEquals([...unpackMask(packMask(mask), size)], [...mask]);
  }
  assertEquals([...packMask(Float32Array.from([1, 0, 0, 1, 0, 0, 0, 0, 1]))], [9, 1]);
});

Deno.test("a sparse checkpoint stores kept values and mask bits and loads them back exactly", () => {
  const model = new Mlp([5, 3, 2]);
  model.init(7);
  model.layers[0].weight.setMask(randomMask(15, 0.4, mulberry32(1)));
  const bytes = encodeSparseCheckpoint(model.parameters(), { model: "t" });
  const copy = new Mlp([5, 3, 2]);
  loadSparseCheckpoint(copy.parameters(), bytes);
  model.parameters().forEach((p, i) => {
    const q = copy.parameters()[i];
    assertEquals([...q.data], [...p.data]);
    assertEquals(q.mask ? [...q.mask] : null, p.mask ? [...p.mask] : null);
  });
  // A straight-through weight that still holds pruned values cannot be stored sparsely.
  model.layers[1].weight.setMask(Float32Array.from([1, 0, 1, 1, 1, 1]), "straight-through");
  assertThrows(() => encodeSparseCheckpoint(model.parameters()), RangeError, "pruned");
  // A model of other sizes is refused with the tensor named.
  assertThrows(() => loadSparseCheckpoint(new Mlp([5, 4, 2]).parameters(), bytes), Error, "fc1");
});

Deno.test("trainingCostMetrics() reads the card's cost as cell metrics", () => {
  const metrics = trainingCostMetrics({
    name: "m",
    checkpoint: "m.safetensors",
    checkpointSha256: "",
    sizes: [2, 2],
    metrics: { testAccuracy: 0.9, validationAccuracy: 0.91 },
    training: {
      steps: 10,
      examples: 1280,
      flops: { forward: 1, backwardInput: 1, backwardWeight: 2, total: 4 },
      denseFlops: 16,
      wallMinutes: 2,
      cpuMinutes: 1.5,
      loadAverage: 1,
    },
  });
  assertEquals(metrics, {
    train_flops: 4,
    train_flops_ratio: 0.25,
    train_minutes: 2,
    train_steps: 10,
    card_test_accuracy: 0.9,
  });
});
