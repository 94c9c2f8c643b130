import { assertAlmostEquals, assertEquals, assertThrows } from "../../tests/assert.ts";
import { sparseTrainingOf } from "../../bench/families/pruning/mod.ts";
import { Linear } from "../../bench/nn/layers.ts";
import { mulberry32 } from "../../bench/random.ts";
import {
  ActivationCorrelation,
  crossEnsembleBudget,
  ensembleMask,
  ensembleOf,
  g2gnetSparseTraining,
  rewire,
  withinEnsembleCount,
} from "./g2gnet.ts";

Deno.test("ensembleOf() numbers units in contiguous blocks or interleaved", () => {
  assertEquals([...ensembleOf(7, 3, "contiguous")], [0, 0, 0, 1, 1, 2, 2]);
  assertEquals([...ensembleOf(7, 3, "interleaved")], [0, 1, 2, 0, 1, 2, 0]);
  assertThrows(() => ensembleOf(4, 5, "contiguous"), RangeError, "[1, 4]");
});

Deno.test("ensembleMask() keeps every within-ensemble weight and exactly the asked cross ones", () => {
  // 6 outputs, 9 inputs, 3 ensembles: outputs {0,1}, {2,3}, {4,5}; inputs {0,1,2}, {3,4,5}, {6,7,8}.
  const e = { rows: ensembleOf(6, 3, "contiguous"), cols: ensembleOf(9, 3, "contiguous") };
  assertEquals(withinEnsembleCount(e), 18);
  const mask = ensembleMask(e, 7, mulberry32(3));
  let within = 0, cross = 0;
  for (let r = 0; r < 6; r++) {
    for (let c = 0; c < 9; c++) {
      const same = Math.floor(r / 2) === Math.floor(c / 3);
      if (same) assertEquals(mask[r * 9 + c], 1, `within-ensemble (${r}, ${c}) dropped`);
      if (same) within++;
      else cross += mask[r * 9 + c];
    }
  }
  assertEquals([within, cross], [18, 7]);
  // With no cross weights the mask is block-diagonal.
  const block = ensembleMask(e, 0, Math.random);
  assertEquals([...block.subarray(0, 9)], [1, 1, 1, 0, 0, 0, 0, 0, 0]);
  assertEquals([...block.subarray(45, 54)], [0, 0, 0, 0, 0, 0, 1, 1, 1]);
  assertThrows(() => ensembleMask(e, 37, Math.random), RangeError, "has 36");
});

Deno.test("ensembleMask() follows the interleaved numbering (the mixer's odd layers)", () => {
  const e = { rows: ensembleOf(2, 2, "interleaved"), cols: ensembleOf(4, 2, "interleaved") };
  assertEquals([...ensembleMask(e, 0, Math.random)], [1, 0, 1, 0, 0, 1, 0, 1]);
});

Deno.test("crossEnsembleBudget() spends what the dense and within-ensemble weights leave", () => {
  // Two layers (1,000 weights, 100 within; 200 weights, 50 within) and 50 dense: keep 25% of
  // 1,250 = 312.5, so p = (312.5 − 50 − 150) / 1,050 = 0.10714…
  const b = crossEnsembleBudget(
    [{ weights: 1000, within: 100 }, { weights: 200, within: 50 }],
    50,
    0.25,
  );
  assertAlmostEquals(b.share, 112.5 / 1050, 1e-12);
  assertEquals(b.counts, [96, 16]);
  assertThrows(
    () => crossEnsembleBudget([{ weights: 100, within: 20 }], 0, 0.1),
    RangeError,
    "use more ensembles",
  );
});

Deno.test("ActivationCorrelation gives the Pearson correlation of a hand-worked case", () => {
  // Rows: x = (x0, x1), y = (y0, y1).
  // x0 = 1, 2, 3; x1 = 1, 1, 4; y0 = 2, 4, 6 (= 2·x0); y1 = 3, 1, 2; and a constant input.
  const stats = new ActivationCorrelation(3, 2);
  const x = Float32Array.from([1, 1, 5, 2, 1, 5, 3, 4, 5]);
  const y = Float32Array.from([2, 3, 4, 1, 6, 2]);
  // Added as two batches (two rows, one row) to check the sums carry over.
  stats.add(x.subarray(0, 6), y.subarray(0, 4), 2);
  stats.add(x.subarray(6), y.subarray(4), 1);
  assertEquals(stats.rows, 3);
  const c = stats.correlation(); // [outputs × inputs]
  // corr(x0, y0) = 1. corr(x1, y0): x1 − 2 = (−1, −1, 2), y0 − 4 = (−2, 0, 2): cov = 6/3 = 2,
  // var x1 = 6/3 = 2, var y0 = 8/3: 2/√(16/3) = √3/2.
  assertAlmostEquals(c[0], 1, 1e-6);
  assertAlmostEquals(c[1], Math.sqrt(3) / 2, 1e-6);
  // y1 − 2 = (1, −1, 0): with x0 − 2 = (−1, 0, 1) cov = −1/3, var 2/3 and 2/3: −0.5.
  assertAlmostEquals(c[3], -0.5, 1e-6);
  // with x1: cov = (−1 + 1 + 0)/3 = 0.
  assertAlmostEquals(c[4], 0, 1e-6);
  // A constant input has no correlation to speak of.
  assertEquals([c[2], c[5]], [0, 0]);
  stats.reset();
  assertEquals([...stats.correlation()], [0, 0, 0, 0, 0, 0]);
});

Deno.test("rewire() prunes the smallest |w| and grows by the score among the pruned, count kept", () => {
  const weight = {
    data: Float32Array.from([0.9, -0.05, 0.3, 0, 0, 0, -0.2, 0]),
    mask: Float32Array.from([1, 1, 1, 0, 0, 0, 1, 0]),
  };
  const scores = Float32Array.from([0, 9, 0, 0.4, -1, 0.8, 0, 0.4]);
  const change = rewire(weight, 2, { scores });
  // −0.05 and −0.2 go (their high scores do not save them: position 1 was kept); of 3, 4, 5, 7:
  // 5 (0.8), then 3 and 7 tie at 0.4, the lower index first.
  assertEquals(change, { dropped: [1, 6], grown: [5, 3] });
  assertEquals([...weight.mask], [1, 0, 1, 1, 0, 1, 0, 0]);
  assertEquals(weight.mask.reduce((n, v) => n + v, 0), 4);
  assertEquals([...weight.data], [0.9, 0, 0.3, 0, 0, 0, 0, 0].map(Math.fround));
});

Deno.test("rewire() at random keeps the edge count and never regrows what it just pruned", () => {
  const random = mulberry32(7);
  const size = 200;
  const data = Float32Array.from({ length: size }, () => random() - 0.5);
  const mask = Float32Array.from({ length: size }, (_, i) => (i % 4 === 0 ? 1 : 0));
  data.forEach((_, i) => (data[i] *= mask[i]));
  for (let round = 0; round < 5; round++) {
    const before = Float32Array.from(mask);
    const change = rewire({ data, mask }, 10, { random });
    assertEquals(mask.reduce((n, v) => n + v, 0), 50);
    assertEquals(change.dropped.length, 10);
    for (const i of change.grown) assertEquals(before[i], 0);
    for (const i of change.dropped) assertEquals(mask[i], 0);
  }
});

Deno.test("g2gnet's trainer: ensemble masks at the target, Hebbian rewiring from the layers' activations", () => {
  const training = sparseTrainingOf(g2gnetSparseTraining)!;
  const layers = [new Linear("fc1", 16, 8), new Linear("fc2", 8, 8), new Linear("fc3", 8, 2)];
  const random = mulberry32(1);
  for (const l of layers) l.weight.data.forEach((_, i, a) => (a[i] = random() - 0.5));
  const params = {
    layout: "s75-g8",
    order: "contiguous",
    rewire: "hebbian",
    every: 4,
    share: 0.25,
    window: 2,
    width: 1,
    seed: 0,
  };
  // 8 ensembles: within-ensemble weights 16 of fc1's 128 and 8 of fc2's 64; fc3's 16 dense; 25% of
  // 208 = 52 leaves 12 cross weights, p = 12/168: 8 in fc1, 4 in fc2.
  const grown: number[][] = [];
  const trainer = training.start({
    layers,
    totalSteps: 10,
    stepsPerEpoch: 10,
    resetOptimizerState: (_, indices) => grown.push([...indices]),
  }, params);
  const kept = () => layers.reduce((n, l) => n + l.weight.density() * l.weight.size, 0);
  const all = layers.reduce((n, l) => n + l.weight.size, 0);
  assertEquals([kept(), all], [52, 208]);
  assertEquals(layers.map((l) => l.weight.density() * l.weight.size), [24, 12, 16]);
  assertEquals(layers[2].weight.mask, null);
  // fc1: output unit r is in ensemble r, inputs 2r and 2r+1 are: both kept.
  for (let r = 0; r < 8; r++) {
    assertEquals([
      layers[0].weight.mask![r * 16 + 2 * r],
      layers[0].weight.mask![r * 16 + 2 * r + 1],
    ], [1, 1]);
  }
  const keptBefore = kept();
  for (let step = 0; step < 10; step++) {
    trainer.beforeForward!(step);
    // A forward through the layers so the hooks see inputs (ReLU between them).
    let h: Float32Array = Float32Array.from({ length: 3 * 16 }, () => random());
    for (const [k, l] of layers.entries()) {
      h = l.forward(h, 3);
      if (k < 2) h = h.map((v) => Math.max(0, v));
    }
    trainer.afterBackward!(step);
  }
  trainer.finish!();
  assertEquals(kept(), keptBefore);
  const figures = trainer.figures!();
  // Rewirings at steps 4 and 8; the windows (steps 2, 3 and 6, 7) fed the statistics: 4 steps × 2
  // FLOPs × 3 rows × (128 + 64) weights.
  assertEquals(figures.topologyUpdates, 2);
  assertEquals(trainer.statisticsFlops!(), 4 * 2 * 3 * (128 + 64));
  assertEquals(grown.length, 4);
  assertEquals(layers.map((l) => l.inputHooks.length), [0, 0, 0]);
});
