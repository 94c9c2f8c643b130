// The table printed at the end of a run: method, task, main metric, p50 latency, speed-up, status.
import type { RunFile } from "../results/schema.ts";
import { headlineP50 } from "../results/speedup.ts";

function formatNumber(value: number | null | undefined, digits = 3): string {
  if (value === null || value === undefined) return "—";
  if (value !== 0 && (Math.abs(value) < 1e-3 || Math.abs(value) >= 1e5)) {
    return value.toExponential(2);
  }
  return value.toFixed(digits);
}

/**
 * The share of a cell's FLOPs reduction it realized as speed-up: speed-up / (dense FLOPs / its
 * FLOPs). 1 means time fell as much as work did; null where either figure is missing or the
 * method does no less work than dense.
 */
export function flopsRealized(
  speedup: number | null,
  flopsRatio: number | null | undefined,
): number | null {
  if (speedup === null || flopsRatio === null || flopsRatio === undefined) return null;
  if (flopsRatio >= 1 || flopsRatio <= 0) return null;
  return speedup * flopsRatio;
}

/** The run's cells as an aligned text table. */
export function summaryTable(run: RunFile): string {
  const header = [
    "method",
    "params",
    "task",
    "case",
    "main metric",
    "p50 ms",
    "±CI ms",
    "speed-up",
    "density",
    "realized",
    "status",
  ];
  const rows = run.cells.map((c) => {
    const stats = c.latency ? (c.latency.kernel ?? c.latency.wall) : null;
    return [
      c.method.id,
      Object.entries(c.method.params).map(([k, v]) => `${k}=${v}`).join(",") || "—",
      c.task.id,
      Object.entries(c.task.case).map(([k, v]) => `${k}=${v}`).join(","),
      `${c.mainMetric.name}=${formatNumber(c.metrics[c.mainMetric.name], 4)}`,
      c.latency ? formatNumber(headlineP50(c.latency)) : "—",
      stats ? formatNumber((stats.ci95[1] - stats.ci95[0]) / 2) : "—",
      c.speedup === null ? "—" : `×${c.speedup.toFixed(2)}`,
      formatNumber(c.sparsity?.realizedDensity, 3),
      formatNumber(flopsRealized(c.speedup, c.sparsity?.flopsRatio), 2),
      c.status,
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd();
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}
