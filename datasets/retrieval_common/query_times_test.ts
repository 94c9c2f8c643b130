import { assert, assertAlmostEquals, assertEquals } from "../../tests/assert.ts";
import { QueryTimes } from "./query_times.ts";

Deno.test("QueryTimes gives QPS over the timed rounds and per-query percentiles, with intervals", () => {
  const t = new QueryTimes();
  // Three rounds of four queries: 1 ms each, then 2 ms each, then 3 ms each (36 ms in all).
  for (const ms of [1, 2, 3]) t.addRound([ms, ms, ms, ms], 4 * ms);
  const m = t.metrics();
  assertEquals(m.timed_rounds, 3);
  assertAlmostEquals(m.qps, (1000 * 12) / 24, 1e-9);
  // Resampled rounds range from all-fast (1000 QPS) to all-slow (333 QPS).
  assert(m.qps_ci95_low >= 1000 / 3 && m.qps_ci95_low <= m.qps, `${m.qps_ci95_low}`);
  assert(m.qps_ci95_high <= 1000 && m.qps_ci95_high >= m.qps, `${m.qps_ci95_high}`);
  assertEquals(m.latency_p50_ms, 2);
  assertEquals(m.latency_p95_ms, 3);
  assert(m.latency_p50_ms_ci95_low >= 1 && m.latency_p50_ms_ci95_high <= 3);
});

Deno.test("QueryTimes before any timed round reports zeros, not NaN", () => {
  const m = new QueryTimes().metrics();
  assertEquals(m.qps, 0);
  assertEquals(m.latency_p95_ms_ci95_high, 0);
  assertEquals(m.timed_rounds, 0);
});
