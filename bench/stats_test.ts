import { assert, assertAlmostEquals, assertEquals, assertThrows } from "../tests/assert.ts";
import {
  bootstrapInterval,
  mean,
  median,
  pairedRatioInterval,
  percentile,
  percentileBootstrapInterval,
  summarize,
} from "./stats.ts";
import { mulberry32 } from "./random.ts";

Deno.test("summarize() matches hand-computed figures for five samples and keeps them", () => {
  // Samples 2, 4, 4, 5, 10: mean 5, deviations -3 -1 -1 0 5, squares sum 36, sd = sqrt(36/4) = 3.
  const s = summarize([10, 4, 2, 5, 4]);
  assertEquals(s.n, 5);
  assertEquals(s.min, 2);
  assertEquals(s.max, 10);
  assertEquals(s.p50, 4);
  // p95: rank 0.95 * 4 = 3.8 → 5 + 0.8 * (10 - 5) = 9.
  assertAlmostEquals(s.p95, 9, 1e-12);
  assertEquals(s.mean, 5);
  assertAlmostEquals(s.sd, 3, 1e-12);
  assertEquals(s.samples, [10, 4, 2, 5, 4]);
});

Deno.test("summarize()'s median interval stays inside the samples, never below zero", () => {
  // The t-interval of the mean of these (BM25's three samples on the old leaderboard) was
  // [-0.0732, 0.217] ms; an interval of the median cannot leave [min, max].
  const s = summarize([0.0395, 0.0391, 0.1802]);
  assert(s.p50Ci95![0] >= s.min && s.p50Ci95![1] <= s.max, `${s.p50Ci95}`);
  assert(s.p50Ci95![0] <= s.p50 && s.p50 <= s.p50Ci95![1]);
});

Deno.test("summarize() of one sample has zero spread", () => {
  const s = summarize([7]);
  assertEquals([s.p50, s.p95, s.sd, s.p50Ci95![0], s.p50Ci95![1]], [7, 7, 0, 7, 7]);
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

Deno.test("bootstrapInterval() is seeded, holds the estimate, and narrows with more data", () => {
  const small = [0, 1, 1, 0, 1, 1, 0, 1];
  const large = Array.from({ length: 800 }, (_, i) => small[i % small.length]);
  const a = bootstrapInterval(small, mean);
  assertEquals(bootstrapInterval(small, mean), a);
  assert(a[0] <= mean(small) && mean(small) <= a[1]);
  const b = bootstrapInterval(large, mean);
  assert(b[1] - b[0] < (a[1] - a[0]) / 5, `${b} vs ${a}`);
  // A share's interval for 800 observations at p = 0.625: about ±1.96·sqrt(p(1-p)/n) = ±0.0335.
  assertAlmostEquals((b[1] - b[0]) / 2, 0.0335, 0.006);
});

Deno.test("pairedRatioInterval() keeps pairs together, so shared drift cancels", () => {
  // Each round's drift hits both series: the ratio is exactly 2 in every round.
  const base = [10, 20, 15, 30, 12];
  const method = base.map((v) => v / 2);
  assertEquals(pairedRatioInterval(base, method), [2, 2]);
  assertThrows(() => pairedRatioInterval([1, 2], [1]), RangeError, "one pair per round");
  assertThrows(() => pairedRatioInterval([1, 0], [1, 1]), RangeError, "holding 0");
});

Deno.test("median() and mean() of small series", () => {
  assertEquals(median([3, 1, 2]), 2);
  assertEquals(median([4, 1, 2, 3]), 2.5);
  assertEquals(mean([1, 2, 6]), 3);
  assertThrows(() => mean([]), RangeError, "empty");
});

Deno.test("percentileBootstrapInterval() equals bootstrapInterval() of the same percentile", () => {
  const rng = mulberry32(7);
  const values = Array.from({ length: 301 }, () => Math.exp(rng() * 3));
  const sorted = values.slice().sort((a, b) => a - b);
  for (const p of [50, 95, 0, 100, 37.5]) {
    const slow = bootstrapInterval(
      sorted,
      (v) => percentile(v.slice().sort((a, b) => a - b), p),
      { resamples: 300 },
    );
    assertEquals(percentileBootstrapInterval(values, p, { resamples: 300 }), slow);
  }
  assertThrows(() => percentileBootstrapInterval([], 50), RangeError);
});
