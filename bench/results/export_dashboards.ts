// `deno task export-dashboard RUN.json --format github-action-benchmark|bmf [--out FILE]`: a run's
// latencies for dashboards projects already use. github-action-benchmark's
// `customSmallerIsBetter` takes [{ name, unit, value, range, extra }]; Bencher's BMF takes
// { benchmark: { latency: { value, lower_value, upper_value } } } in nanoseconds. Only ok cells
// (a latency exists only for an output that passed its check); each name is the cell's key.
import { parseArgs } from "node:util";
import { readRunFile } from "./run_file.ts";
import type { Cell, OkCell, RunFile } from "./schema.ts";

export const DASHBOARD_FORMATS = ["github-action-benchmark", "bmf"] as const;
export type DashboardFormat = typeof DASHBOARD_FORMATS[number];

const okCells = (run: RunFile) => run.cells.filter((c: Cell): c is OkCell => c.status === "ok");
const headline = (c: OkCell) => c.latency.kernel ?? c.latency.wall;

/** github-action-benchmark's customSmallerIsBetter entries: p50 in ms, its 95% interval as range. */
export function githubActionBenchmark(run: RunFile): {
  name: string;
  unit: string;
  value: number;
  range: string;
  extra: string;
}[] {
  return okCells(run).map((c) => {
    const s = headline(c);
    const [lo, hi] = s.p50Ci95 ?? [s.p50, s.p50];
    return {
      name: c.key,
      unit: "ms",
      value: s.p50,
      range: `${lo}–${hi}`,
      extra: [
        `run ${run.runId}`,
        `${c.mainMetric.name} ${c.metrics[c.mainMetric.name]}`,
        c.speedup ? `speed-up ×${c.speedup.value}` : "baseline",
        `n=${s.n}${c.latency.noisy ? " (noisy)" : ""}`,
      ].join("; "),
    };
  });
}

/** Bencher Metric Format: latency in nanoseconds with the p50's interval as its bounds. */
export function bencherMetricFormat(
  run: RunFile,
): Record<string, { latency: { value: number; lower_value: number; upper_value: number } }> {
  const ns = (ms: number) => ms * 1e6;
  return Object.fromEntries(
    okCells(run).map((c) => {
      const s = headline(c);
      const [lo, hi] = s.p50Ci95 ?? [s.p50, s.p50];
      return [c.key, { latency: { value: ns(s.p50), lower_value: ns(lo), upper_value: ns(hi) } }];
    }),
  );
}

if (import.meta.main) {
  const usage = `usage: deno task export-dashboard RUN.json --format ${
    DASHBOARD_FORMATS.join("|")
  } [--out FILE]`;
  let parsed;
  try {
    parsed = parseArgs({
      args: Deno.args,
      allowPositionals: true,
      options: { format: { type: "string" }, out: { type: "string" } },
    });
  } catch (error) {
    console.error(`error: ${(error as Error).message}\n${usage}`);
    Deno.exit(2);
  }
  const format = parsed.values.format as DashboardFormat | undefined;
  if (parsed.positionals.length !== 1 || !format || !DASHBOARD_FORMATS.includes(format)) {
    console.error(usage);
    Deno.exit(2);
  }
  try {
    const run = await readRunFile(parsed.positionals[0]);
    const body = format === "bmf" ? bencherMetricFormat(run) : githubActionBenchmark(run);
    const text = JSON.stringify(body, null, 2) + "\n";
    if (parsed.values.out) await Deno.writeTextFile(parsed.values.out, text);
    else console.log(text);
  } catch (error) {
    console.error(`error: ${(error as Error).message}`);
    Deno.exit(1);
  }
}
