import { assert, assertAlmostEquals, assertEquals, assertThrows } from "../../tests/assert.ts";
import { checkPruneTarget, noCalibration, pruneModel } from "../../bench/families/pruning/mod.ts";
import { Mlp } from "../../bench/nn/mlp.ts";
import { randomPruning } from "./random.ts";
import { erkLayerDensities as erkDensities } from "../../bench/families/pruning/mod.ts";

const noData = noCalibration("random pruning");

/** Weights a layer's mask keeps. */
function kept(l: { weight: { mask: Float32Array | null } }): number {
  return l.weight.mask!.reduce((n, m) => n + m, 0);
}

async function pruned(params: { target: string; density: string; seed: number }) {
  const model = new Mlp([30, 16, 8, 4]);
  model.init(3);
  const outcome = await pruneModel(randomPruning, params, {
    id: "test-mlp",
    model,
    calibration: noData,
  });
  return { model, outcome };
}

Deno.test("erkDensities() scales (n_in + n_out)/(n_in·n_out) to the target", () => {
  // Raw densities 0.2 (10×10) and 0.02 (100×100); 10% of 10,100 weights is 1,010 =
  // ε·(0.2·100 + 0.02·10,000) = 220ε, so ε = 4.591: densities 0.918 and 0.0918.
  const [a, b] = erkDensities([{ rows: 10, cols: 10 }, { rows: 100, cols: 100 }], 0.1);
  assertAlmostEquals(a, 0.2 * 1010 / 220, 1e-12);
  assertAlmostEquals(b, 0.02 * 1010 / 220, 1e-12);
});

Deno.test("erkDensities() keeps a layer dense once it would exceed 1 and rescales the rest, in turn", () => {
  // 1×1 (raw 2), 2×2 (raw 1), 10×10 (raw 0.2) at 50% of 105 weights = 52.5 kept.
  // ε = 52.5/26 → the 1×1 would keep 4.04: dense; ε = 51.5/24 → the 2×2 would keep 2.15: dense;
  // ε = 47.5/20 = 2.375 → the 10×10 keeps 0.475 (47.5 weights).
  const shapes = [{ rows: 1, cols: 1 }, { rows: 2, cols: 2 }, { rows: 10, cols: 10 }];
  const d = erkDensities(shapes, 0.5);
  assertEquals(d.slice(0, 2), [1, 1]);
  assertAlmostEquals(d[2], 0.475, 1e-12);
  assertEquals(erkDensities(shapes, 1), [1, 1, 1]);
  assertThrows(() => erkDensities(shapes, 0), RangeError, "(0, 1]");
});

Deno.test("random with density=uniform prunes every layer to the target, the same for the same seed", async () => {
  const a = await pruned({ target: "70%", density: "uniform", seed: 0 });
  assert(a.outcome.targetCheck.passed, a.outcome.targetCheck.description);
  // round(480·0.3) = 144, round(128·0.3) = 38, round(32·0.3) = 10.
  assertEquals(a.model.linears().map((l) => kept(l)), [144, 38, 10]);
  const again = await pruned({ target: "70%", density: "uniform", seed: 0 });
  const other = await pruned({ target: "70%", density: "uniform", seed: 1 });
  const masks = (m: Mlp) => m.linears().map((l) => [...l.weight.mask!]);
  assertEquals(masks(again.model), masks(a.model));
  assert(JSON.stringify(masks(other.model)) !== JSON.stringify(masks(a.model)));
});

Deno.test("random with density=erk keeps ERK's share of each layer and the target overall", async () => {
  const { model, outcome } = await pruned({ target: "80%", density: "erk", seed: 0 });
  assert(outcome.targetCheck.passed, outcome.targetCheck.description);
  const shapes = model.linears().map((l) => ({ rows: l.outFeatures, cols: l.inFeatures }));
  const expected = erkDensities(shapes, 0.2);
  model.linears().forEach((l, i) => {
    assertEquals(kept(l), Math.round(expected[i] * l.weight.size));
  });
  // Smaller layers are kept denser.
  const [d1, d2, d3] = model.linears().map((l) => l.weight.density());
  assert(d1 < d2 && d2 < d3, `${d1} < ${d2} < ${d3}`);
});

Deno.test("random keeps exactly N of every M inputs per row for N:M targets, and passes the gate", async () => {
  for (const [target, n, m] of [["2:4", 2, 4], ["4:8", 4, 8], ["1:4", 1, 4]] as const) {
    for (const density of ["uniform", "erk"]) {
      const { model, outcome } = await pruned({ target, density, seed: 5 });
      assert(checkPruneTarget(model, outcome.target).passed, `${target} ${density}`);
      for (const l of model.linears()) {
        const mask = l.weight.mask!, cols = l.inFeatures;
        for (let r = 0; r < l.outFeatures; r++) {
          for (let g = 0; g < cols; g += m) {
            const width = Math.min(m, cols - g);
            let count = 0;
            for (let i = g; i < g + width; i++) count += mask[r * cols + i];
            assertEquals(count, Math.min(n, width));
          }
        }
      }
    }
  }
});
