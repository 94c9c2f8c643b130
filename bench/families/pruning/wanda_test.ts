// Wanda's core (the family's _wanda.ts): the score, the per-row comparison, N:M, and the
// layer-by-layer loop on inputs recomputed through the already-pruned layers.
import { assertEquals } from "../../../tests/assert.ts";
import { countingCalibration } from "../../../tests/fixtures/pruning.ts";
import { collectInputNorms } from "../../nn/hooks.ts";
import { Mlp } from "../../nn/mlp.ts";
import { batchCalibration, rowMask, wandaPrune, wandaScores } from "./mod.ts";

Deno.test("wandaScores() is |W_ij|·‖X_j‖₂", () => {
  const model = new Mlp([2, 2]);
  model.layers[0].weight.data.set([4, -1, -40, 30]);
  assertEquals([...wandaScores(model.layers[0], [1, 8])], [4, 8, 40, 240]);
});

Deno.test("wandaPrune() compares scores within each output row, not over the layer", () => {
  // W = [[4, −1], [−40, 30]]; the inputs [0, 8] and [1, 0] give ‖X‖ = [1, 8], so the scores are
  // [[4, 8], [40, 240]]. Per row at 50%: input 1 in both rows. Over the layer the two largest
  // (40 and 240) would both be in row 1; magnitude alone would keep input 0 of row 0.
  const model = new Mlp([2, 2]);
  model.layers[0].weight.data.set([4, -1, -40, 30]);
  wandaPrune(model, countingCalibration(model, [0, 8, 1, 0], 2), {
    pattern: "unstructured",
    sparsity: 0.5,
  });
  assertEquals([...model.layers[0].weight.mask!], [0, 1, 0, 1]);
  assertEquals([...model.layers[0].weight.data], [0, -1, 0, 30]);
});

Deno.test("wandaPrune() scores a layer on the inputs recomputed through the already-pruned layers", () => {
  // fc1 = [[1, 0.9], [0.1, 2]] on the input [1, 1] (‖X‖ = [1, 1]): at 50% row 0 keeps input 0 and
  // row 1 keeps input 1, so the hidden layer is ReLU([1, 2]) = [1, 2] instead of the dense
  // [1.9, 2.1]. fc2 = [[1, 0.7], [1, 1]]: row 0 scores [1, 1.4] on the pruned inputs (keeps
  // input 1) but [1.9, 1.47] on the dense ones (would keep input 0); row 1 keeps input 1 either way.
  const model = new Mlp([2, 2, 2]);
  model.layers[0].weight.data.set([1, 0.9, 0.1, 2]);
  model.layers[1].weight.data.set([1, 0.7, 1, 1]);
  const calibration = countingCalibration(model, [1, 1], 1);
  wandaPrune(model, calibration, { pattern: "unstructured", sparsity: 0.5 });
  assertEquals([...model.layers[0].weight.mask!], [1, 0, 0, 1]);
  assertEquals([...model.layers[1].weight.mask!], [0, 1, 0, 1]);
  // fc2 scored on the dense model's inputs instead keeps input 0 of row 0.
  const dense = new Mlp([2, 2, 2]);
  dense.layers[0].weight.data.set([1, 0.9, 0.1, 2]);
  dense.layers[1].weight.data.set([1, 0.7, 1, 1]);
  const norms = collectInputNorms(dense.layers[1]);
  dense.forward(Float32Array.of(1, 1), 1);
  norms.detach();
  const scores = wandaScores(dense.layers[1], norms.value());
  const half = { pattern: "unstructured", sparsity: 0.5 } as const;
  assertEquals([...rowMask({ scores, rows: 2, cols: 2 }, half)], [1, 0, 0, 1]);
  // One calibration pass per layer, and no hook left behind.
  assertEquals(calibration.runs, 2);
  assertEquals(model.layers.map((l) => l.inputHooks.length), [0, 0]);
});

Deno.test("wandaPrune() keeps N of every M consecutive inputs per row by score", () => {
  // W = [1, 2, 3, 4, 4, 3, 2, 1] and ‖X‖ = [4, 1, 1, 1, 1, 1, 1, 4]: scores
  // [4, 2, 3, 4 | 4, 3, 2, 4]. 2:4 keeps inputs 0, 3 and 4, 7 (magnitude would keep 2, 3, 4, 5);
  // 1:4 keeps 0 and 4 (ties to the lower index).
  const make = () => {
    const model = new Mlp([8, 1]);
    model.layers[0].weight.data.set([1, 2, 3, 4, 4, 3, 2, 1]);
    return model;
  };
  const x = [4, 1, 1, 1, 1, 1, 1, 4];
  const two = make();
  wandaPrune(two, countingCalibration(two, x, 1), { pattern: "n:m", n: 2, m: 4 });
  assertEquals([...two.layers[0].weight.mask!], [1, 0, 0, 1, 1, 0, 0, 1]);
  const one = make();
  wandaPrune(one, countingCalibration(one, x, 1), { pattern: "n:m", n: 1, m: 4 });
  assertEquals([...one.layers[0].weight.mask!], [1, 0, 0, 0, 1, 0, 0, 0]);
});

Deno.test("wandaPrune()'s masks are the same whether the calibration stops at each layer's input or not", () => {
  const x = Float32Array.from({ length: 12 * 20 }, (_, i) => Math.cos(i * 0.11) * (i % 5));
  const masks = (stops: boolean) => {
    const model = new Mlp([20, 12, 8, 4]);
    model.init(4);
    const calibration = stops
      ? batchCalibration({
        rows: 12,
        batches: 3,
        forward: (b) => void model.forward(x.subarray(b * 80, (b + 1) * 80), 4),
        backward: () => {},
        parameters: () => model.parameters(),
      })
      : countingCalibration(model, [...x], 12);
    wandaPrune(model, calibration, { pattern: "unstructured", sparsity: 0.6 });
    return model.linears().map((l) => [...l.weight.mask!]);
  };
  assertEquals(masks(true), masks(false));
});
