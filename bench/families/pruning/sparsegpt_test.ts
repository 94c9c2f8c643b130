// SparseGPT's core (the family's _sparsegpt.ts): sparseGptLayer against the paper's OBS
// updates with explicit inverses, its edge cases, and the layer-by-layer loop.
import { assert, assertEquals, assertThrows } from "../../../tests/assert.ts";
import { correlatedInputs, gramOf, twoBatchCalibration } from "../../../tests/fixtures/pruning.ts";
import { collectInputGram } from "../../nn/hooks.ts";
import { Mlp } from "../../nn/mlp.ts";
import { mulberry32, normal } from "../../random.ts";
import {
  type Calibration,
  layerMask,
  type MaskTarget,
  rowMask,
  sparseGptLayer,
  sparseGptPrune,
  spdInverse,
} from "./mod.ts";

const HALF: MaskTarget = { pattern: "unstructured", sparsity: 0.5 };
const TARGETS: MaskTarget[] = [
  HALF,
  { pattern: "unstructured", sparsity: 0.7 },
  { pattern: "n:m", n: 2, m: 4 },
  { pattern: "n:m", n: 4, m: 8 },
];

/** A seeded layer [rows × cols] and the Gram of correlated inputs. */
function seededLayer(rows: number, cols: number, seed: number, n = 256) {
  const z = normal(mulberry32(seed + 1));
  const weights = Float32Array.from({ length: rows * cols }, z);
  return { weights, rows, cols, gram: gramOf(correlatedInputs(n, cols, seed), n, cols), n };
}

/** ‖X·Wᵀ − X·Ŵᵀ‖_F / ‖X·Wᵀ‖_F from the Gram: Σ_r δ_rᵀ·G·δ_r over Σ_r w_rᵀ·G·w_r. */
function relativeError(
  w: ArrayLike<number>,
  pruned: ArrayLike<number>,
  layer: { rows: number; cols: number; gram: Float64Array },
): number {
  const { rows, cols, gram } = layer;
  let err = 0, ref = 0;
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < cols; i++) {
      const di = w[r * cols + i] - pruned[r * cols + i];
      for (let j = 0; j < cols; j++) {
        err += di * gram[i * cols + j] * (w[r * cols + j] - pruned[r * cols + j]);
        ref += w[r * cols + i] * gram[i * cols + j] * w[r * cols + j];
      }
    }
  }
  return Math.sqrt(err / ref);
}

/** Magnitude pruning of the layer: over the whole layer (unstructured) or N of M per row. */
function magnitudePruned(weights: Float32Array, rows: number, cols: number, target: MaskTarget) {
  const scores = { scores: weights.map(Math.abs), rows, cols };
  const mask = target.pattern === "unstructured"
    ? layerMask(scores, target.sparsity)
    : rowMask(scores, target);
  return weights.map((v, i) => v * mask[i]);
}

/**
 * SparseGPT as the paper derives it, without its tricks: no Cholesky factor of the inverse and
 * no lazy updates. Pruning weight (r, j) with columns F = j… still free applies the OBS update
 * δW[r, F] = −w·(H_FF)⁻¹[j, F]/(H_FF)⁻¹[j, j], and its score is w²/(H_FF)⁻¹[j, j]; the block's
 * mask is chosen at its first column (N:M: at each group's first column), as in the method.
 */
function naiveSparseGpt(
  layer: { weights: Float32Array; rows: number; cols: number; gram: Float64Array; n: number },
  target: MaskTarget,
  blockSize: number,
) {
  const { rows, cols } = layer;
  const w = Float64Array.from(layer.weights);
  const h = layer.gram.map((v) => 2 * v / layer.n);
  let mean = 0;
  for (let j = 0; j < cols; j++) mean += h[j * cols + j] / cols;
  for (let j = 0; j < cols; j++) h[j * cols + j] += 0.01 * mean;
  const tails = Array.from({ length: cols }, (_, j) => {
    const f = cols - j, sub = new Float64Array(f * f);
    for (let a = 0; a < f; a++) {
      for (let b = 0; b < f; b++) sub[a * f + b] = h[(j + a) * cols + j + b];
    }
    return spdInverse(sub, f);
  });
  const scoreOf = (p: number) => w[p] ** 2 / tails[p % cols][0];
  const keep = new Uint8Array(rows * cols);
  const choose = (positions: number[], count: number) => {
    const sorted = [...positions].sort((a, b) => scoreOf(b) - scoreOf(a) || a - b);
    for (const p of sorted.slice(0, count)) keep[p] = 1;
  };
  const step = target.pattern === "n:m" ? Math.ceil(blockSize / target.m) * target.m : blockSize;
  let kept = 0;
  for (let i1 = 0; i1 < cols; i1 += step) {
    const i2 = Math.min(i1 + step, cols);
    if (target.pattern === "unstructured") {
      const count = Math.round(rows * i2 * (1 - target.sparsity)) - kept;
      kept += count;
      const positions: number[] = [];
      for (let r = 0; r < rows; r++) for (let c = i1; c < i2; c++) positions.push(r * cols + c);
      choose(positions, count);
    }
    for (let j = i1; j < i2; j++) {
      if (target.pattern === "n:m" && j % target.m === 0) {
        const end = Math.min(j + target.m, cols);
        for (let r = 0; r < rows; r++) {
          choose(Array.from({ length: end - j }, (_, k) => r * cols + j + k), target.n);
        }
      }
      const inv = tails[j], f = cols - j;
      for (let r = 0; r < rows; r++) {
        if (keep[r * cols + j]) continue;
        const e = w[r * cols + j] / inv[0];
        for (let c = 0; c < f; c++) w[r * cols + j + c] -= e * inv[c];
        w[r * cols + j] = 0;
      }
    }
  }
  return { weights: w, mask: Float32Array.from(keep) };
}

/** A calibration that ignores `until` and runs the whole model on `x` at once. */
function wholeModelCalibration(mlp: Mlp, x: Float32Array, rows: number): Calibration {
  return {
    rows,
    run: () => void mlp.forward(x, rows),
    gradients: () => {
      throw new Error("SparseGPT needs no gradients");
    },
    batches: 1,
    batchLogits: () => mlp.forward(x, rows),
    batchBackward: () => {
      throw new Error("SparseGPT needs no gradients");
    },
  };
}

Deno.test("sparseGptLayer() equals the paper's OBS updates with explicit inverses, on odd shapes", () => {
  // 7 × 13 with blocks of 4: the last block is one column; for 4:8 blocks round up to 8.
  const layer = seededLayer(7, 13, 11);
  for (const target of TARGETS) {
    const got = sparseGptLayer(layer, {
      gram: layer.gram,
      samples: layer.n,
      target,
      blockSize: 4,
    });
    const want = naiveSparseGpt(layer, target, 4);
    assertEquals(got.mask, want.mask, JSON.stringify(target));
    const scale = Math.max(...want.weights.map(Math.abs));
    for (let i = 0; i < got.weights.length; i++) {
      assert(
        Math.abs(got.weights[i] - want.weights[i]) <= 1e-6 * scale,
        `${JSON.stringify(target)} weight ${i}: ${got.weights[i]} vs ${want.weights[i]}`,
      );
    }
  }
});

Deno.test("sparseGptLayer() leaves the weights unchanged at sparsity 0", () => {
  const layer = seededLayer(5, 9, 3);
  const out = sparseGptLayer(layer, {
    gram: layer.gram,
    samples: layer.n,
    target: { pattern: "unstructured", sparsity: 0 },
    blockSize: 4,
  });
  assertEquals(out.weights, layer.weights);
  assertEquals([...out.mask], new Array(45).fill(1));
  assertEquals(out.obsLoss, 0);
});

Deno.test("sparseGptLayer() zeroes a dead input's column and keeps the layer well-posed", () => {
  const n = 64, cols = 9, rows = 5;
  const x = correlatedInputs(n, cols, 5);
  for (let r = 0; r < n; r++) x[r * cols + 3] = 0;
  const weights = Float32Array.from({ length: rows * cols }, normal(mulberry32(6)));
  const gram = gramOf(x, n, cols);
  const dense = sparseGptLayer({ weights, rows, cols }, {
    gram,
    samples: n,
    target: { pattern: "unstructured", sparsity: 0 },
  });
  assertEquals(dense.deadInputs, [3]);
  for (let i = 0; i < weights.length; i++) {
    assertEquals(dense.weights[i], i % cols === 3 ? 0 : weights[i]);
  }
  for (const target of TARGETS) {
    const out = sparseGptLayer({ weights, rows, cols }, { gram, samples: n, target });
    for (let r = 0; r < rows; r++) assertEquals(out.weights[r * cols + 3], 0);
    assert(out.weights.every(Number.isFinite));
  }
});

Deno.test("sparseGptLayer() reconstructs the layer's outputs better than magnitude at 50% and 2:4", () => {
  for (const [rows, cols, blockSize] of [[16, 32, 8], [64, 128, 128]]) {
    const layer = seededLayer(rows, cols, 21);
    for (const target of [HALF, { pattern: "n:m", n: 2, m: 4 } as const]) {
      const out = sparseGptLayer(layer, { gram: layer.gram, samples: layer.n, target, blockSize });
      const ours = relativeError(layer.weights, out.weights, layer);
      const magnitude = relativeError(
        layer.weights,
        magnitudePruned(layer.weights, rows, cols, target),
        layer,
      );
      assert(
        ours < magnitude,
        `${rows}×${cols} ${JSON.stringify(target)}: SparseGPT ${ours}, magnitude ${magnitude}`,
      );
    }
  }
});

Deno.test("sparseGptLayer() is deterministic", () => {
  const layer = seededLayer(7, 13, 9);
  for (const target of TARGETS) {
    const options = { gram: layer.gram, samples: layer.n, target, blockSize: 4 };
    assertEquals(sparseGptLayer(layer, options), sparseGptLayer(layer, options));
  }
});

Deno.test("sparseGptLayer() refuses inconsistent inputs with what it expected", () => {
  const layer = { weights: [1, 2, 3, 4], rows: 2, cols: 2 };
  const gram = [1, 0, 0, 1];
  assertThrows(
    () => sparseGptLayer(layer, { gram, samples: 0, target: HALF }),
    RangeError,
    "must have seen calibration rows: current value is 0",
  );
  assertThrows(
    () => sparseGptLayer(layer, { gram, samples: 4, target: HALF, blockSize: 0 }),
    RangeError,
    "'blockSize' must be a positive integer",
  );
  assertThrows(
    () => sparseGptLayer(layer, { gram: [1], samples: 4, target: HALF }),
    RangeError,
    "the Gram must be cols × cols = 2 × 2: got 1 entries",
  );
  // Rank 1 and no damping: not invertible (H = [[1, 2], [2, 4]] leaves pivot 1 at exactly 0).
  assertThrows(
    () => sparseGptLayer(layer, { gram: [1, 2, 2, 4], samples: 2, target: HALF, damping: 0 }),
    RangeError,
    "raise 'damping'",
  );
});

Deno.test("sparseGptPrune() prunes the second layer on the outputs of the pruned and updated first", () => {
  const n = 48, x = correlatedInputs(n, 13, 41);
  const fresh = () => {
    const mlp = new Mlp([13, 7, 5]);
    mlp.init(8);
    return mlp;
  };
  const mlp = fresh(), dense = fresh();
  sparseGptPrune(mlp, twoBatchCalibration(mlp, x, n), HALF, { blockSize: 4, damping: 0.01 });
  // The second layer's inputs as the pruned first layer makes them, and as the dense one does,
  // in the calibration's batches (each batch's Gram is a float32 product).
  const inputsOf = (model: Mlp) => {
    const gram = collectInputGram(model.layers[1]);
    twoBatchCalibration(model, x, n).run();
    gram.detach();
    return gram.value();
  };
  const second = dense.layers[1];
  const layer = { weights: second.weight.data, rows: 5, cols: 7 };
  const options = { samples: n, target: HALF, blockSize: 4 };
  const expected = sparseGptLayer(layer, { ...options, gram: inputsOf(mlp) });
  assertEquals(mlp.layers[1].weight.data, expected.weights);
  assertEquals(mlp.layers[1].weight.mask, expected.mask);
  const fromDense = sparseGptLayer(layer, { ...options, gram: inputsOf(dense) });
  assert(fromDense.weights.some((v, i) => v !== expected.weights[i]));
  // Same model, same calibration, whether each pass stops at the layer or runs the whole model
  // in one batch: the same pruned model (to float32 rounding of the Gram's sums).
  const again = fresh();
  sparseGptPrune(again, wholeModelCalibration(again, x, n), HALF, { blockSize: 4, damping: 0.01 });
  for (let k = 0; k < 2; k++) {
    assertEquals(again.layers[k].weight.mask, mlp.layers[k].weight.mask);
    const got = again.layers[k].weight.data, want = mlp.layers[k].weight.data;
    for (let i = 0; i < got.length; i++) assert(Math.abs(got[i] - want[i]) <= 1e-5);
  }
});
