import { assert, assertEquals, assertThrows } from "../../tests/assert.ts";
import { twoBatchCalibration } from "../../tests/fixtures/pruning.ts";
import {
  batchCalibration,
  checkPruneTarget,
  type MaskTarget,
  pruneModel,
  rowMask,
  sparseGptLayer,
} from "../../bench/families/pruning/mod.ts";
import type { ParamValues } from "../../bench/metadata.ts";
import { Linear } from "../../bench/nn/layers.ts";
import { Mlp } from "../../bench/nn/mlp.ts";
import { mulberry32, normal } from "../../bench/random.ts";
import { dsnotLayer, dsnotPrune, dsnotPruning, expectedErrors } from "./dsnot.ts";
import { sparseGptPruning } from "./sparsegpt.ts";
import { wandaPruning } from "./wanda.ts";

const UNSTRUCTURED: MaskTarget[] = [
  { pattern: "unstructured", sparsity: 0.5 },
  { pattern: "unstructured", sparsity: 0.7 },
];
const NM: MaskTarget[] = [{ pattern: "n:m", n: 2, m: 4 }, { pattern: "n:m", n: 4, m: 8 }];

/**
 * Seeded inputs [n × cols] as a layer after a ReLU sees them: max(0, a_j + b_j·z), so every
 * feature has its own non-zero mean and its own variance.
 */
function reluInputs(n: number, cols: number, seed: number): Float32Array {
  const u = mulberry32(seed), z = normal(mulberry32(seed + 1));
  const a = Float64Array.from({ length: cols }, () => 2 * u() - 0.5);
  const b = Float64Array.from({ length: cols }, () => 0.2 + 2 * u());
  return Float32Array.from(
    { length: n * cols },
    (_, i) => Math.max(0, a[i % cols] + b[i % cols] * z()),
  );
}

/** What the hooks would gather, computed here from x directly: mean, variance, norm, Gram. */
function statistics(x: Float32Array, n: number, cols: number) {
  const mean = new Float64Array(cols), variance = new Float64Array(cols);
  const norms = new Float64Array(cols), gram = new Float64Array(cols * cols);
  for (let r = 0; r < n; r++) {
    for (let j = 0; j < cols; j++) {
      const v = x[r * cols + j];
      mean[j] += v / n;
      norms[j] += v * v;
      for (let k = 0; k < cols; k++) gram[j * cols + k] += v * x[r * cols + k];
    }
  }
  for (let r = 0; r < n; r++) {
    for (let j = 0; j < cols; j++) variance[j] += (x[r * cols + j] - mean[j]) ** 2 / n;
  }
  return { mean, variance, norms: norms.map(Math.sqrt), gram };
}

/** A seeded layer [rows × cols] on ReLU-like inputs, and its Wanda and SparseGPT bases. */
function seededCase(rows: number, cols: number, seed: number, target: MaskTarget, n = 160) {
  const x = reluInputs(n, cols, seed);
  const stats = statistics(x, n, cols);
  const dense = Float32Array.from({ length: rows * cols }, normal(mulberry32(seed + 2)));
  const scores = dense.map((w, i) => Math.abs(w) * stats.norms[i % cols]);
  const wandaMask = rowMask({ scores, rows, cols }, target);
  const sgpt = sparseGptLayer({ weights: dense, rows, cols }, {
    gram: stats.gram,
    samples: n,
    target,
  });
  return {
    x,
    n,
    stats,
    wanda: { dense, weights: dense.map((w, i) => w * wandaMask[i]), mask: wandaMask, rows, cols },
    sparsegpt: { dense, weights: sgpt.weights, mask: sgpt.mask, rows, cols },
  };
}

/**
 * Σ over rows of |mean over the inputs of (x·Wᵀ − x·Ŵᵀ)|: the mean-output reconstruction error,
 * from the inputs themselves rather than from their mean.
 */
function meanOutputError(
  x: Float32Array,
  n: number,
  layer: { dense: ArrayLike<number>; weights: ArrayLike<number>; rows: number; cols: number },
): number {
  let total = 0;
  for (let i = 0; i < layer.rows; i++) {
    let gap = 0;
    for (let r = 0; r < n; r++) {
      for (let j = 0; j < layer.cols; j++) {
        const d = layer.dense[i * layer.cols + j] - layer.weights[i * layer.cols + j];
        gap += d * x[r * layer.cols + j];
      }
    }
    total += Math.abs(gap / n);
  }
  return total;
}

const kept = (mask: ArrayLike<number>, from: number, to: number) => {
  let k = 0;
  for (let i = from; i < to; i++) k += mask[i] !== 0 ? 1 : 0;
  return k;
};

Deno.test("dsnotLayer() keeps every row's kept count of the Wanda and SparseGPT bases", () => {
  for (const target of UNSTRUCTURED) {
    const c = seededCase(12, 32, 3, target);
    for (const base of [c.wanda, c.sparsegpt]) {
      const out = dsnotLayer(base, { ...c.stats, target, updateThreshold: 0 });
      assert(out.swaps > 0, `${JSON.stringify(target)}: no swap to check`);
      assert(out.mask.some((m, i) => m !== base.mask[i]));
      for (let r = 0; r < 12; r++) {
        assertEquals(kept(out.mask, r * 32, (r + 1) * 32), kept(base.mask, r * 32, (r + 1) * 32));
      }
      // Pruned weights are 0, grown ones back at their dense value, the rest as the base left them.
      for (let i = 0; i < out.mask.length; i++) {
        if (out.mask[i] === 0) assert(out.weights[i] === 0);
        else if (base.mask[i] === 0) assertEquals(out.weights[i], base.dense[i]);
        else assertEquals(out.weights[i], base.weights[i]);
      }
    }
  }
});

Deno.test("dsnotLayer() keeps N:M masks N:M: every group of M keeps its count", () => {
  // SparseGPT leaves little mean error to remove: few swaps, but some over both patterns.
  let sparseGptSwaps = 0;
  for (const target of NM) {
    if (target.pattern !== "n:m") continue;
    // 30 inputs: the last 4:8 group is 6 wide.
    const c = seededCase(10, 30, 5, target);
    for (const base of [c.wanda, c.sparsegpt]) {
      const out = dsnotLayer(base, { ...c.stats, target, updateThreshold: 0 });
      if (base === c.wanda) assert(out.swaps > 0, `${JSON.stringify(target)}: no swap to check`);
      else sparseGptSwaps += out.swaps;
      for (let r = 0; r < 10; r++) {
        for (let g = 0; g < 30; g += target.m) {
          const from = r * 30 + g, to = r * 30 + Math.min(g + target.m, 30);
          assertEquals(kept(out.mask, from, to), Math.min(target.n, to - from));
        }
      }
    }
  }
  assert(sparseGptSwaps > 0);
});

Deno.test("dsnotLayer() never raises a row's |r|, and lowers Σ|r| where the base needs swaps", () => {
  for (const target of [...UNSTRUCTURED, ...NM]) {
    const c = seededCase(12, 32, 7, target);
    for (const base of [c.wanda, c.sparsegpt]) {
      const out = dsnotLayer(base, { ...c.stats, target, updateThreshold: 0 });
      for (let r = 0; r < 12; r++) {
        assert(Math.abs(out.errorAfter[r]) <= Math.abs(out.errorBefore[r]) + 1e-9, `row ${r}`);
      }
      // The same figure from the inputs themselves: the mean output's error.
      const before = meanOutputError(c.x, c.n, base);
      const after = meanOutputError(c.x, c.n, { ...base, weights: out.weights });
      assert(after <= before + 1e-6, `${JSON.stringify(target)}: ${after} > ${before}`);
      if (base === c.wanda) {
        // Wanda ignores the inputs' mean, which ReLU inputs make large: swaps must pay off.
        assert(after < 0.5 * before, `${JSON.stringify(target)}: ${after} vs ${before}`);
      }
      let sum = 0;
      for (const r of out.errorAfter) sum += Math.abs(r);
      assert(Math.abs(sum - after) <= 1e-4 * Math.max(1, after), `${sum} vs ${after}`);
    }
  }
});

Deno.test("dsnotLayer() grows by contribution over variance and prunes only what does not add to r", () => {
  const half: MaskTarget = { pattern: "unstructured", sparsity: 0.5 };
  const ones = [1, 1, 1, 1];
  // r = 2 + 3 = 5. Input 2 (c = 2, Var 0.25) scores 8 against input 3's 3 (c = 3, Var 1): it grows
  // first; varPower 0 ranks by c alone and grows input 3. Input 1 (c = −1) is the only kept
  // weight whose removal does not add to r.
  const layer = {
    dense: [4, -1, 2, 3],
    weights: [4, -1, 0, 0],
    mask: [1, 1, 0, 0],
    rows: 1,
    cols: 4,
  };
  const stats = { mean: ones, variance: [1, 1, 0.25, 1], norms: ones, target: half };
  const byVariance = dsnotLayer(layer, stats);
  assertEquals([...byVariance.mask], [1, 0, 1, 0]);
  assertEquals([...byVariance.errorAfter], [2]);
  assertEquals(byVariance.swaps, 1);
  assertEquals([...dsnotLayer(layer, { ...stats, varPower: 0 }).mask], [1, 0, 0, 1]);
  // Input 0 has the lowest Wanda score (0.5) but c = +0.5 would add to r = 4: input 1 goes.
  const signed = dsnotLayer(
    { dense: [0.5, -1, 3, 1], weights: [0.5, -1, 0, 0], mask: [1, 1, 0, 0], rows: 1, cols: 4 },
    { mean: ones, variance: ones, norms: ones, target: half },
  );
  assertEquals([...signed.mask], [1, 0, 1, 0]);
  assertEquals([...signed.errorAfter], [0]);
  // r = 3.5: growing input 2 (c = 3) leaves 0.5, and pruning input 1 (c = −2) would take r to −1.5.
  // sameSign passes input 2 over and grows input 3 (c = 0.5) instead: r = 3.5 − 0.5 − 2 = 1.
  // Without it the first swap is taken, overshoot and all.
  const overshoot = {
    dense: [1, -2, 3, 0.5],
    weights: [1, -2, 0, 0],
    mask: [1, 1, 0, 0],
    rows: 1,
    cols: 4,
  };
  const kept = dsnotLayer(overshoot, { mean: ones, variance: ones, norms: ones, target: half });
  assertEquals([...kept.mask], [1, 0, 0, 1]);
  assertEquals([...kept.errorAfter], [1]);
  const taken = dsnotLayer(overshoot, {
    mean: ones,
    variance: ones,
    norms: ones,
    target: half,
    sameSign: false,
  });
  assertEquals([...taken.mask], [1, 0, 1, 0]);
  assertEquals([...taken.errorAfter], [-1.5]);
});

Deno.test("dsnotLayer() stops a row at the threshold and swaps inside one N:M group only", () => {
  // 2:4 over 8 inputs, E[x] = 1: r = 3 + 2 + 1 + 1 = 7. The largest grow candidate is input 4
  // (c = 3) in group 1, whose only allowed prune is input 5 (c = −1): r = 3. Next, input 2 (c = 2)
  // in group 0 with input 1 (c = −0.5): r = 0.5 ≤ the threshold 1, so the row stops.
  const ones = Array(8).fill(1);
  const out = dsnotLayer(
    {
      dense: [4, -0.5, 2, 1, 3, -1, 5, 1],
      weights: [4, -0.5, 0, 0, 0, -1, 5, 0],
      mask: [1, 1, 0, 0, 0, 1, 1, 0],
      rows: 1,
      cols: 8,
    },
    {
      mean: ones,
      variance: ones,
      norms: ones,
      target: { pattern: "n:m", n: 2, m: 4 },
      updateThreshold: 1,
    },
  );
  assertEquals([...out.mask], [1, 0, 1, 0, 1, 0, 1, 0]);
  assertEquals([...out.errorAfter], [0.5]);
  assertEquals(out.swaps, 2);
});

Deno.test("dsnotLayer() with maxCycles 0 or a threshold above every |r| returns the base exactly", () => {
  for (const target of [...UNSTRUCTURED, ...NM]) {
    const c = seededCase(9, 24, 11, target);
    for (const base of [c.wanda, c.sparsegpt]) {
      for (const settings of [{ maxCycles: 0 }, { updateThreshold: 1e9 }]) {
        const out = dsnotLayer(base, { ...c.stats, target, ...settings });
        assertEquals(out.mask, Float32Array.from(base.mask));
        assertEquals(out.weights, Float32Array.from(base.weights));
        assertEquals(out.swaps, 0);
        assertEquals(out.errorAfter, expectedErrors(base, c.stats.mean));
      }
    }
  }
});

/** DSnoT's defaults with `overrides`, as the runner passes every declared parameter. */
function dsnotParams(overrides: ParamValues): ParamValues {
  const defaults = Object.entries(dsnotPruning.meta.parameters).map(([k, s]) => [k, s.default]);
  return { ...Object.fromEntries(defaults), ...overrides };
}

/** A seeded MLP [20, 12, 8, 4] pruned on ReLU-like inputs: the outcome, weights and masks. */
async function prunedMlp(method: typeof dsnotPruning, params: ParamValues) {
  const mlp = new Mlp([20, 12, 8, 4]);
  mlp.init(6);
  const x = reluInputs(48, 20, 13);
  const outcome = await pruneModel(method, params, {
    id: "test-mlp",
    model: mlp,
    calibration: twoBatchCalibration(mlp, x, 48),
  });
  return {
    outcome,
    mlp,
    layers: mlp.linears().map((l) => ({ data: [...l.weight.data], mask: [...l.weight.mask!] })),
  };
}

Deno.test("dsnot with maxCycles 0 prunes an MLP exactly as wanda and sparsegpt do", async () => {
  for (const target of ["50%", "70%", "2:4", "4:8"]) {
    const wanda = await prunedMlp(wandaPruning, { target });
    const onWanda = await prunedMlp(
      dsnotPruning,
      dsnotParams({ target, base: "wanda", maxCycles: 0 }),
    );
    assertEquals(onWanda.layers, wanda.layers);
    const sparsegpt = await prunedMlp(sparseGptPruning, { target, blockSize: 128, damping: 0.01 });
    const onSparseGpt = await prunedMlp(
      dsnotPruning,
      dsnotParams({ target, base: "sparsegpt", maxCycles: 0 }),
    );
    assertEquals(onSparseGpt.layers, sparsegpt.layers);
  }
});

Deno.test("dsnot prunes an MLP to every target, deterministically, with masks that pass the gate", async () => {
  for (const target of ["50%", "70%", "90%", "2:4", "4:8", "1:4"]) {
    for (const base of ["wanda", "sparsegpt"]) {
      const params = dsnotParams({ target, base, updateThreshold: 0 });
      const first = await prunedMlp(dsnotPruning, params);
      assert(
        first.outcome.targetCheck.passed,
        `${target}: ${first.outcome.targetCheck.description}`,
      );
      assert(checkPruneTarget(first.mlp, first.outcome.target).passed);
      assertEquals(first.mlp.linears().map((l) => l.inputHooks.length), [0, 0, 0]);
      const metrics = first.outcome.report.metrics!;
      assert(metrics.dsnot_swaps > 0, `${target} on ${base}: no swap`);
      assert(metrics.dsnot_error_after <= metrics.dsnot_error_before);
      const again = await prunedMlp(dsnotPruning, params);
      assertEquals(again.layers, first.layers);
      assertEquals(again.outcome.report.metrics, metrics);
    }
  }
});

Deno.test("dsnotPrune() leaves the skipped transformer sublayers at the base's mask", () => {
  // Two layers named as a transformer block's, both reading the same inputs, so neither's
  // statistics depend on how the other was pruned.
  const z = normal(mulberry32(3)), x = reluInputs(40, 16, 17);
  const weights = [Float32Array.from({ length: 256 }, z), Float32Array.from({ length: 128 }, z)];
  const run = (skip: "none" | "mlp" | "attn", maxCycles = 50) => {
    const layers = [new Linear("blocks.0.attn.proj", 16, 16), new Linear("blocks.0.mlp.fc", 16, 8)];
    layers.forEach((l, k) => l.weight.data.set(weights[k]));
    const calibration = batchCalibration({
      rows: 40,
      batches: 1,
      forward: () => layers.forEach((l) => l.forward(x, 40)),
      backward: () => {},
      parameters: () => layers.flatMap((l) => l.parameters()),
    });
    dsnotPrune({ linears: () => layers }, calibration, { pattern: "unstructured", sparsity: 0.5 }, {
      skip,
      maxCycles,
      updateThreshold: 0,
    });
    return layers.map((l) => [...l.weight.mask!]);
  };
  const all = run("none"), base = run("none", 0);
  for (let k = 0; k < 2; k++) assert(all[k].some((m, i) => m !== base[k][i]), `layer ${k}`);
  assertEquals(run("mlp"), [all[0], base[1]]);
  assertEquals(run("attn"), [base[0], all[1]]);
});

Deno.test("dsnotLayer() refuses inconsistent inputs with what it expected", () => {
  const layer = { dense: [1, 2], weights: [1, 0], mask: [1, 0], rows: 1, cols: 2 };
  const stats = {
    mean: [1, 1],
    variance: [1, 1],
    norms: [1, 1],
    target: { pattern: "unstructured", sparsity: 0.5 } as const,
  };
  assertThrows(
    () => dsnotLayer({ ...layer, mask: [1] }, stats),
    RangeError,
    "the mask must hold rows × cols = 1 × 2 entries: got 1",
  );
  assertThrows(
    () => dsnotLayer(layer, { ...stats, variance: [1] }),
    RangeError,
    "'variance' must have one entry per input (2): got 1",
  );
  assertThrows(
    () => dsnotLayer(layer, { ...stats, maxCycles: 1.5 }),
    RangeError,
    "'maxCycles' must be an integer ≥ 0: current value is 1.5",
  );
  assertThrows(
    () => dsnotLayer(layer, { ...stats, updateThreshold: -1 }),
    RangeError,
    "'updateThreshold' must be ≥ 0",
  );
});
