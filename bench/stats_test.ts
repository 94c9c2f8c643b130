import { assertAlmostEquals, assertEquals, assertThrows } from "../tests/assert.ts";
import { percentile, summarize, tCritical95 } from "./stats.ts";

Deno.test("summarize() matches hand-computed figures for five samples", () => {
  // Samples 2, 4, 4, 5, 10: mean 5, deviations -3 -1 -1 0 5, squares sum 36, sd = sqrt(36/4) = 3.
  // CI half-width = t(4) * 3 / sqrt(5) = 2.776 * 1.341641 = 3.72440.
  const s = summarize([10, 4, 2, 5, 4]);
  assertEquals(s.n, 5);
  assertEquals(s.min, 2);
  assertEquals(s.max, 10);
  assertEquals(s.p50, 4);
  // p95: rank 0.95 * 4 = 3.8 → 5 + 0.8 * (10 - 5) = 9.
  assertAlmostEquals(s.p95, 9, 1e-12);
  assertEquals(s.mean, 5);
  assertAlmostEquals(s.sd, 3, 1e-12);
  assertAlmostEquals(s.ci95[0], 5 - 3.7244, 1e-4);
  assertAlmostEquals(s.ci95[1], 5 + 3.7244, 1e-4);
});

Deno.test("summarize() of one sample has zero spread", () => {
  const s = summarize([7]);
  assertEquals([s.p50, s.p95, s.sd, s.ci95[0], s.ci95[1]], [7, 7, 0, 7, 7]);
});

Deno.test("summarize() refuses empty and non-finite series", () => {
  assertThrows(() => summarize([]), RangeError, "empty");
  assertThrows(() => summarize([1, NaN]), RangeError, "NaN");
  assertThrows(() => summarize([1, Infinity]), RangeError, "Infinity");
});

Deno.test("percentile() interpolates between ranks", () => {
  assertEquals(percentile([1, 2, 3, 4], 50), 2.5);
  assertEquals(percentile([1, 2, 3, 4], 0), 1);
  assertEquals(percentile([1, 2, 3, 4], 100), 4);
});

Deno.test("tCritical95() follows the table and approaches the normal quantile", () => {
  assertEquals(tCritical95(1), 12.706);
  assertEquals(tCritical95(9), 2.262);
  assertAlmostEquals(tCritical95(40), 2.021, 2e-3);
  assertAlmostEquals(tCritical95(120), 1.980, 2e-3);
  assertThrows(() => tCritical95(0), RangeError, "df");
});
