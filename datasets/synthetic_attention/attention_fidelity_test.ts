import { assertAlmostEquals, assertEquals } from "../../tests/assert.ts";
import { qualityAgainstDense, sampledRows } from "./attention_fidelity.ts";

Deno.test("qualityAgainstDense() scores error and recall by hand on two rows", () => {
  const dense = {
    out: [Float64Array.of(3, 4), Float64Array.of(0, 5)],
    weights: [Float64Array.of(0.5, 0.5), Float64Array.of(0.1, 0.2, 0.7)],
  };
  // Row 0 is off by (0, 5) ... ‖err‖² = 25, ‖ref‖² = 25 + 25 = 50 → error √(25/50).
  const q = qualityAgainstDense(
    (i) => (i === 0 ? [3, 9] : [0, 5]),
    (i) => (i === 0 ? Int32Array.of(0) : Int32Array.of(1, 2)),
    dense,
  );
  assertAlmostEquals(q.rel_l2_error, Math.sqrt(0.5), 1e-12);
  // Recall: row 0 keeps 0.5, row 1 keeps 0.9 → mean 0.7.
  assertAlmostEquals(q.mass_recall, 0.7, 1e-12);
  assertEquals(
    q.rel_l2_error_ci95_low <= q.rel_l2_error && q.rel_l2_error <= q.rel_l2_error_ci95_high,
    true,
  );
  const exact = qualityAgainstDense(
    (i) => dense.out[i],
    (i) => Int32Array.from(dense.weights[i].keys()),
    dense,
  );
  assertEquals([exact.rel_l2_error, exact.mass_recall], [0, 1]);
});

Deno.test("sampledRows() spreads rows over each head, first and last included", () => {
  const rows = sampledRows({ heads: 2, seq: 10, headDim: 4, causal: true }, 4);
  assertEquals(rows.map((r) => `${r.head}:${r.row}`), [
    "0:0",
    "0:3",
    "0:6",
    "0:9",
    "1:0",
    "1:3",
    "1:6",
    "1:9",
  ]);
  assertEquals(sampledRows({ heads: 1, seq: 2, headDim: 4, causal: true }, 32).length, 2);
});
