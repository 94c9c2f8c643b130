import { assert, assertEquals, assertStringIncludes } from "../../../tests/assert.ts";
import { Linear } from "../../nn/layers.ts";
import { checkPruneTarget, compareLogits, realizedDensity, targetDensity } from "./mod.ts";

/** Two layers with odd shapes (5 → 7 → 3), masked by `keep(layer, row, col)`. */
function model(keep: (layer: number, row: number, col: number) => boolean) {
  const layers = [new Linear("a", 5, 7), new Linear("b", 7, 3)];
  layers.forEach((l, k) => {
    l.weight.setMask(
      Float32Array.from(
        { length: l.weight.size },
        (_, i) => keep(k, Math.floor(i / l.inFeatures), i % l.inFeatures) ? 1 : 0,
      ),
    );
  });
  return { linears: () => layers };
}

Deno.test("realizedDensity() counts what the masks keep over every prunable weight", () => {
  assertEquals(realizedDensity(model(() => true)), 1);
  assertEquals(realizedDensity(model((k) => k === 1)), 21 / (35 + 21));
  assertEquals(targetDensity({ pattern: "unstructured", sparsity: 0.9 }), 1 - 0.9);
});

Deno.test("checkPruneTarget() holds an unstructured target to its density, within 0.01", () => {
  const dense = model(() => true);
  assert(checkPruneTarget(dense, { pattern: "unstructured", sparsity: 0 }).passed);
  const missed = checkPruneTarget(dense, { pattern: "unstructured", sparsity: 0.5 });
  assertEquals(missed.passed, false);
  assertStringIncludes(missed.description, "masks keep 1.0000 of the prunable weights");
  assertEquals(missed.maxAbsError, 0.5);
});

Deno.test("checkPruneTarget() checks the N:M pattern group by group, a short last group too", () => {
  const twoOfFour = model((_k, _row, col) => col % 4 < 2);
  assert(checkPruneTarget(twoOfFour, { pattern: "n:m", n: 2, m: 4 }).passed);
  // Three kept in the first group of four of every row of layer b.
  const bad = model((k, _row, col) => col % 4 < 2 || (k === 1 && col === 2));
  const check = checkPruneTarget(bad, { pattern: "n:m", n: 2, m: 4 });
  assertEquals(check.passed, false);
  assertStringIncludes(check.description, "b.weight row 0 keeps 3 of the 4 weights from input 0");
  // Layer a has 5 inputs: its last group is input 4 alone, kept; 1:4 allows it.
  assert(
    checkPruneTarget(model((_k, _r, col) => col % 4 === 0), { pattern: "n:m", n: 1, m: 4 })
      .passed,
  );
});

Deno.test("compareLogits() allows 1e-3 + 1e-4·|logit| and reports the largest error", () => {
  const ref = Float32Array.of(1, -20, 300);
  assert(compareLogits(Float32Array.of(1.0009, -20.002, 300.03), ref).passed);
  const off = compareLogits(Float32Array.of(1, -20.01, 300), ref);
  assertEquals(off.passed, false);
  assert(Math.abs(off.maxAbsError - 0.01) < 1e-5);
  assertEquals(compareLogits(Float32Array.of(1), ref).passed, false);
});
