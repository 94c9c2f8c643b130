import { assert, assertEquals, assertThrows } from "../../../tests/assert.ts";
import { Mlp } from "../../nn/mlp.ts";
import { batchCalibration, calibrationSample, layerDensities, layerDensityMetric } from "./mod.ts";

Deno.test("calibrationSample() draws distinct rows, the same for the same seed", () => {
  const a = calibrationSample(1000, 100, 3);
  assertEquals(new Set(a).size, 100);
  assert(a.every((i) => i >= 0 && i < 1000));
  assertEquals([...calibrationSample(1000, 100, 3)], [...a]);
  assert(calibrationSample(1000, 100, 4).some((v, i) => v !== a[i]));
  // Not the first rows: a shuffle over the whole split.
  assert(Math.max(...a) > 500);
  assertEquals([...calibrationSample(5, 5, 1)].sort(), [0, 1, 2, 3, 4]);
  assertThrows(() => calibrationSample(10, 11, 0), RangeError, "the 10 available");
});

Deno.test("batchCalibration() runs every batch, and with `until` stops each at that layer's input", () => {
  const model = new Mlp([3, 4, 2]);
  model.init(1);
  const x = Float32Array.from({ length: 6 * 3 }, (_, i) => i / 10);
  const seen = model.layers.map(() => 0);
  model.layers.forEach((l, k) => l.inputHooks.push((_x, rows) => void (seen[k] += rows)));
  const calibration = batchCalibration({
    rows: 6,
    batches: 2,
    forward: (b) => void model.forward(x.subarray(b * 9, (b + 1) * 9), 3),
    backward: () => {},
    parameters: () => model.parameters(),
  });
  calibration.run();
  assertEquals(seen, [6, 6]);
  calibration.run({ until: model.layers[0] });
  assertEquals(seen, [12, 6]);
  calibration.run({ until: model.layers[1] });
  assertEquals(seen, [18, 12]);
  // The stopping hook is gone: only the counters remain.
  assertEquals(model.layers.map((l) => l.inputHooks.length), [1, 1]);
});

Deno.test("batchCalibration() zeroes gradients before running backward over every batch", () => {
  const model = new Mlp([2, 2]);
  model.parameters()[0].grad.fill(5);
  const calls: number[] = [];
  batchCalibration({
    rows: 2,
    batches: 2,
    forward: () => {},
    backward: (b) => void calls.push(b),
    parameters: () => model.parameters(),
  }).gradients();
  assertEquals(calls, [0, 1]);
  assertEquals([...model.parameters()[0].grad], [0, 0, 0, 0]);
});

Deno.test("layerDensities() names each layer's density as a metric", () => {
  assertEquals(layerDensityMetric("blocks.0.attn.qkv.weight"), "density_blocks_0_attn_qkv");
  assertEquals(layerDensityMetric("Head.W"), "density_head_w");
  const model = new Mlp([4, 2, 2]);
  model.layers[0].weight.setMask(Float32Array.of(1, 0, 0, 0, 1, 1, 0, 0));
  assertEquals(layerDensities(model), { density_fc1: 0.375, density_fc2: 1 });
});
