// Throughput and per-query latency from a retrieval cell's timed rounds, with intervals: the rounds
// the runner interleaves with the case's other cells after the warm-up, not one extra pass, so a
// cell's QPS shares the drift its baseline saw.
import { bootstrapInterval, percentile, percentileBootstrapInterval } from "../../bench/stats.ts";

/** The per-query times of every timed round of one cell. */
export class QueryTimes {
  #perQuery: number[] = [];
  #rounds: { queries: number; ms: number }[] = [];

  /**
   * Adds one timed round.
   *
   * @param perQueryMs each query's time (a batch's mean for each of its queries)
   * @param roundMs the whole round's wall time
   */
  addRound(perQueryMs: readonly number[], roundMs: number): void {
    this.#perQuery.push(...perQueryMs);
    this.#rounds.push({ queries: perQueryMs.length, ms: roundMs });
  }

  /**
   * `qps` (queries over time summed across rounds) with a bootstrap interval over rounds, and the
   * per-query p50 and p95 with bootstrap intervals over queries; all 0 before any timed round.
   */
  metrics(): Record<string, number> {
    const names = ["qps", "latency_p50_ms", "latency_p95_ms"];
    const out: Record<string, number> = { timed_rounds: this.#rounds.length };
    if (this.#rounds.length === 0 || this.#perQuery.length === 0) {
      for (const n of names) out[n] = out[`${n}_ci95_low`] = out[`${n}_ci95_high`] = 0;
      return out;
    }
    const rounds = this.#rounds;
    // Resample whole rounds (their indices), so each keeps its queries and its time together.
    const qpsOf = (picked: readonly number[]) => {
      let q = 0;
      let ms = 0;
      for (const i of picked) {
        q += rounds[i].queries;
        ms += rounds[i].ms;
      }
      return ms > 0 ? (1000 * q) / ms : 0;
    };
    const indices = rounds.map((_, i) => i);
    out.qps = qpsOf(indices);
    [out.qps_ci95_low, out.qps_ci95_high] = bootstrapInterval(indices, qpsOf);
    const sorted = this.#perQuery.slice().sort((a, b) => a - b);
    for (const [name, p] of [["latency_p50_ms", 50], ["latency_p95_ms", 95]] as const) {
      out[name] = percentile(sorted, p);
      [out[`${name}_ci95_low`], out[`${name}_ci95_high`]] = percentileBootstrapInterval(sorted, p);
    }
    return out;
  }
}
