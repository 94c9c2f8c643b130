// What the runner page prints of a cell, and the device fields of a run it shows before sending:
// plain functions, so they are tested under Deno without a browser.
import type { Cell, RunFile } from "../bench/results/schema.ts";

/** A cell as the progress table shows it. */
export interface CellText {
  status: string;
  latency: string;
  speedup: string;
  /** Short: "gate passed", or why the cell did not pass. */
  note: string;
  /** The gate's full description, shown on hover (it runs to several lines in a table cell). */
  detail: string;
}

function ms(value: number): string {
  return value >= 100 ? value.toFixed(0) : value >= 1 ? value.toFixed(2) : value.toPrecision(3);
}

/**
 * A finished cell's row: status, median latency per dispatch with its 95% interval and clock,
 * speed-up over the baseline with its interval, and the gate's verdict or the reason it failed.
 *
 * @param cell a recorded cell
 * @example formatCell(okCell).latency // "1.23 ms [1.20–1.26] gpu-timestamp"
 */
export function formatCell(cell: Cell): CellText {
  if (cell.status !== "ok") {
    return {
      status: cell.status,
      latency: "—",
      speedup: "—",
      note: cell.error,
      detail: cell.error,
    };
  }
  const l = cell.latency;
  const summary = l.kernel ?? l.wall;
  const ci = summary.p50Ci95 ? ` [${ms(summary.p50Ci95[0])}–${ms(summary.p50Ci95[1])}]` : "";
  const s = cell.speedup;
  const speedup = cell.isReference
    ? "baseline"
    : s
    ? `×${s.value.toFixed(2)}${s.ci95 ? ` [${s.ci95[0].toFixed(2)}–${s.ci95[1].toFixed(2)}]` : ""}`
    : "—";
  return {
    status: l.noisy ? "ok (noisy)" : "ok",
    latency: `${ms(summary.p50)} ms${ci} ${l.source}`,
    speedup,
    note: "gate passed",
    detail: cell.check.description,
  };
}

/**
 * The fields of a run that describe where it ran: exactly these, besides the measurements,
 * leave the browser when the visitor sends the run.
 *
 * @param run a browser run file
 */
export function fingerprintOf(run: RunFile) {
  const gpu = run.environment.gpu;
  return {
    source: run.source,
    browser: run.browser,
    os: run.environment.os,
    gpu: gpu && {
      vendor: gpu.vendor,
      architecture: gpu.architecture,
      device: gpu.device,
      isFallbackAdapter: gpu.isFallbackAdapter,
      timestampQuery: gpu.timestampQuery,
    },
    commit: run.environment.git.commit,
  };
}
