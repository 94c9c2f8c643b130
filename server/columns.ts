// The columns of a leaderboard table: one definition used by the HTML table, server-side
// sorting and the CSV download, so the three never disagree.
import type { Row } from "./aggregate.ts";
import { sparsity, speedup, withCi } from "./views/format.ts";

/** One column of the leaderboard. */
export interface Column {
  key: string;
  label: string;
  /** What sorting compares: numbers numerically, text alphabetically, null last. */
  sortValue: (row: Row) => number | string | null;
  /** What the HTML table shows. */
  text: (row: Row) => string;
  /** What the CSV holds (raw numbers, not rounded). */
  csv: (row: Row) => string | number | null;
}

/** The leaderboard's columns, in display order. */
export const COLUMNS: readonly Column[] = [
  {
    key: "method",
    label: "Method",
    sortValue: (r) => r.methodTitle,
    text: (r) => r.methodTitle,
    csv: (r) => r.methodId,
  },
  {
    key: "label",
    label: "Label",
    sortValue: (r) => r.fidelity?.level ?? null,
    text: (r) => (r.fidelity?.level ?? "unlabelled") + (r.fidelityFrom === "catalog" ? "*" : ""),
    csv: (r) => r.fidelity?.level ?? null,
  },
  {
    key: "params",
    label: "Parameters",
    sortValue: (r) => r.paramsText,
    text: (r) => r.paramsText || "defaults",
    csv: (r) => r.paramsText,
  },
  {
    key: "case",
    label: "Case",
    sortValue: (r) => r.caseKey,
    text: (r) => r.caseLabel,
    csv: (r) => r.caseKey,
  },
  {
    key: "metric",
    label: "Main metric",
    // Sorting by "metric" ascending means worst first, whatever the metric's direction.
    sortValue: (r) => (r.metric === null ? null : r.higherIsBetter ? r.metric : -r.metric),
    text: (r) => withCi(r.metric, r.metricCi, 4),
    csv: (r) => r.metric,
  },
  {
    key: "latency",
    label: "p50 latency (ms)",
    sortValue: (r) => r.p50Ms,
    text: (r) => withCi(r.p50Ms, r.p50Ci) + (r.latencySource === "wall" ? " (wall)" : ""),
    csv: (r) => r.p50Ms,
  },
  {
    key: "speedup",
    label: "Speed-up",
    sortValue: (r) => r.speedup,
    text: (r) => speedup(r.speedup, r.speedupCi),
    csv: (r) => r.speedup,
  },
  {
    key: "speedup_vs_fastest_dense",
    label: "vs fastest dense",
    sortValue: (r) => r.speedupVsFastestDense,
    text: (r) =>
      r.fastestDenseMethod === null
        ? "—"
        : `${
          speedup(r.speedupVsFastestDense, r.speedupVsFastestDenseCi)
        } (${r.fastestDenseMethod})`,
    csv: (r) => r.speedupVsFastestDense,
  },
  {
    key: "nominal",
    label: "Nominal sparsity",
    sortValue: (r) => (r.nominalDensity === null ? null : 1 - r.nominalDensity),
    text: (r) => sparsity(r.nominalDensity),
    csv: (r) => r.nominalDensity,
  },
  {
    key: "realized",
    label: "Realized sparsity",
    sortValue: (r) => (r.realizedDensity === null ? null : 1 - r.realizedDensity),
    text: (r) => sparsity(r.realizedDensity),
    csv: (r) => r.realizedDensity,
  },
  {
    // Attention rows compare within a band (the frontier and "best"); a tuned row says its knob.
    key: "band",
    label: "Density band",
    sortValue: (r) => (r.densityBand === null ? null : r.realizedDensity),
    text: (r) =>
      (r.densityBand ?? "—") +
      (r.tuning
        ? ` (tuned to ${r.tuning.targetDensity}: ${r.tuning.param}=${
          r.tuning.value.toPrecision(3)
        })`
        : ""),
    csv: (r) => r.densityBand,
  },
  {
    key: "device",
    label: "Device",
    sortValue: (r) => r.deviceLabel,
    text: (r) => r.deviceLabel,
    csv: (r) => r.deviceLabel,
  },
  {
    key: "status",
    label: "Status",
    sortValue: (r) => r.status,
    text: (r) => r.status,
    csv: (r) => r.status,
  },
  {
    key: "run",
    label: "Run",
    sortValue: (r) => r.runId,
    text: (r) => r.runId,
    csv: (r) => r.runId,
  },
];

/** The keys `?sort=` accepts. */
export const SORT_KEYS: readonly string[] = COLUMNS.map((c) => c.key);

/**
 * Rows sorted by one column; missing values last in either direction, ties kept in order.
 *
 * @param rows rows to sort (not modified)
 * @param key a key of {@link COLUMNS}
 * @param dir "asc" or "desc"
 * @returns a new sorted array
 */
export function sortRows(rows: readonly Row[], key: string, dir: "asc" | "desc"): Row[] {
  const column = COLUMNS.find((c) => c.key === key);
  if (!column) return [...rows];
  const sign = dir === "asc" ? 1 : -1;
  const keyed = rows.map((row, i) => ({ row, i, v: column.sortValue(row) }));
  keyed.sort((a, b) => {
    if (a.v === null || b.v === null) return a.v === b.v ? a.i - b.i : a.v === null ? 1 : -1;
    const c = typeof a.v === "number" && typeof b.v === "number"
      ? a.v - b.v
      : String(a.v).localeCompare(String(b.v));
    return c === 0 ? a.i - b.i : sign * c;
  });
  return keyed.map((k) => k.row);
}

// Figures the table shows inside one cell, which a spreadsheet wants as columns of their own.
const CSV_EXTRAS: [string, (r: Row) => string | number | null][] = [
  ["latency_ci95_low", (r) => r.p50Ci?.[0] ?? null],
  ["latency_ci95_high", (r) => r.p50Ci?.[1] ?? null],
  ["speedup_ci95_low", (r) => r.speedupCi?.[0] ?? null],
  ["speedup_ci95_high", (r) => r.speedupCi?.[1] ?? null],
  ["samples", (r) => r.samples],
  ["noisy", (r) => r.noisy === null ? null : String(r.noisy)],
  ["metric_name", (r) => r.metricName],
  ["label_reason", (r) => r.fidelity?.reason ?? null],
  ["label_from", (r) => r.fidelityFrom],
  ["verified", (r) => String(r.verified)],
  ["fastest_dense_method", (r) => r.fastestDenseMethod],
  ["speedup_vs_fastest_dense_ci95_low", (r) => r.speedupVsFastestDenseCi?.[0] ?? null],
  ["speedup_vs_fastest_dense_ci95_high", (r) => r.speedupVsFastestDenseCi?.[1] ?? null],
];

function csvField(value: string | number | null): string {
  if (value === null) return "";
  const text = String(value);
  // Quote when needed, and defuse cells a spreadsheet would run as a formula.
  const safe = /^[=+\-@\t\r]/.test(text) && typeof value === "string" ? `'${text}` : text;
  return /[",\n\r]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/**
 * The rows as CSV with a header line: the task, every column, then the intervals, sample
 * count, noisy flag, main metric's name and verification.
 *
 * @param rows rows in the order wanted
 * @returns CSV text, lines ending in CRLF as RFC 4180 asks
 */
export function toCsv(rows: readonly Row[]): string {
  const header = ["task", ...COLUMNS.map((c) => c.key), ...CSV_EXTRAS.map(([name]) => name)];
  const lines = [header.join(",")];
  for (const r of rows) {
    const fields = [r.taskId, ...COLUMNS.map((c) => c.csv(r)), ...CSV_EXTRAS.map(([, f]) => f(r))];
    lines.push(fields.map(csvField).join(","));
  }
  return lines.join("\r\n") + "\r\n";
}
