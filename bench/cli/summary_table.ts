// The table printed at the end of a run, sized for a 120-column terminal: one block per case
// (task, case label, main metric), one row per cell. `wide` (deno task report --wide) keeps full
// parameters and adds the share of the FLOPs reduction realized; the run file has everything.
import { type Fidelity, NOT_BEST_LEVELS } from "../metadata.ts";
import type { Cell, RunFile, Speedup, Summary } from "../results/schema.ts";
import { sameWorkPairs } from "../results/same_work.ts";
import { caseKeyOf, headlineP50 } from "../results/speedup.ts";

/** The width the default table fits in. */
export const TABLE_WIDTH = 120;
const PARAMS_COLUMN = 2;

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

/** `×7.24 [6.91–7.60]`, or `×7.24` when there is no interval. */
export function formatSpeedup(speedup: Speedup | null): string {
  if (!speedup) return "—";
  const digits = speedup.value >= 100 ? 0 : 2;
  const ci = speedup.ci95
    ? ` [${speedup.ci95[0].toFixed(digits)}–${speedup.ci95[1].toFixed(digits)}]`
    : "";
  return `×${speedup.value.toFixed(digits)}${ci}`;
}

/** The median's interval as ± a share of it, e.g. `±1.8%` (the larger side). */
export function formatRelativeInterval(summary: Summary | null): string {
  if (!summary?.p50Ci95 || summary.p50 <= 0) return "—";
  const [lo, hi] = summary.p50Ci95;
  const half = Math.max(summary.p50 - lo, hi - summary.p50) / summary.p50;
  return `±${(half * 100).toFixed(half < 0.1 ? 1 : 0)}%`;
}

/**
 * A cell's fidelity label as the table shows it: the run file's, else `labels`' (today's label of
 * the method, for files written before methods had one) marked `*`, else `—`.
 */
export function fidelityLabel(cell: Cell, labels?: ReadonlyMap<string, Fidelity>): string {
  if (cell.method.fidelity) return cell.method.fidelity.level;
  const today = labels?.get(cell.method.id);
  return today ? `${today.level}*` : "—";
}

function clip(text: string, width: number): string {
  return text.length <= width ? text : `${text.slice(0, width - 1)}…`;
}

function statusOf(cell: Cell): string {
  if (cell.status !== "ok") return cell.status;
  return cell.latency.noisy ? "noisy" : "ok";
}

/**
 * A cell's parameters, those that vary among its method's cells of the case first, so a clipped
 * column still tells the rows apart.
 */
function paramsText(cell: Cell, varying: ReadonlySet<string>): string {
  const entries = Object.entries(cell.method.params);
  entries.sort(([a], [b]) => Number(varying.has(b)) - Number(varying.has(a)));
  return entries.map(([k, v]) => `${k}=${v}`).join(",") || "—";
}

/** The parameters whose values differ among the cells of each method in `cells`. */
function varyingParams(cells: readonly Cell[]): Map<string, Set<string>> {
  const seen = new Map<string, Map<string, Set<string>>>();
  for (const c of cells) {
    const byName = seen.get(c.method.id) ?? new Map<string, Set<string>>();
    for (const [k, v] of Object.entries(c.method.params)) {
      byName.set(k, (byName.get(k) ?? new Set()).add(String(v)));
    }
    seen.set(c.method.id, byName);
  }
  return new Map(
    [...seen].map(([id, byName]) => [
      id,
      new Set([...byName].filter(([, values]) => values.size > 1).map(([k]) => k)),
    ]),
  );
}

function row(
  cell: Cell,
  options: {
    wide: boolean;
    varying: ReadonlySet<string>;
    labels?: ReadonlyMap<string, Fidelity>;
    vsFastest: boolean;
  },
): string[] {
  const { wide } = options;
  const headline = cell.latency ? (cell.latency.kernel ?? cell.latency.wall) : null;
  const cells = [
    wide ? cell.method.id : clip(cell.method.id, 28),
    fidelityLabel(cell, options.labels),
    paramsText(cell, options.varying),
    formatNumber(cell.metrics[cell.mainMetric.name], 4),
    cell.latency ? formatNumber(headlineP50(cell.latency)) : "—",
    formatRelativeInterval(headline),
    formatSpeedup(cell.speedup),
    formatSpeedup(cell.status === "ok" ? cell.speedupVsFastestDense ?? null : null),
    formatNumber(cell.sparsity?.realizedDensity, 3),
    headline ? String(headline.n) : "—",
    statusOf(cell),
  ];
  if (!options.vsFastest) cells.splice(7, 1);
  if (wide) {
    cells.splice(
      options.vsFastest ? 9 : 8,
      0,
      formatNumber(flopsRealized(cell.speedup?.value ?? null, cell.sparsity?.flopsRatio), 2),
    );
  }
  return cells;
}

/**
 * The run's cells as aligned text, a block per case.
 *
 * @param run the run file
 * @param options `wide`: full parameters and the FLOPs-realized column, no width limit; `labels`:
 *   fidelity labels by method id for cells of files written before methods declared one
 */
export function summaryTable(
  run: RunFile,
  options: { wide?: boolean; labels?: ReadonlyMap<string, Fidelity> } = {},
): string {
  const wide = options.wide ?? false;
  const header = [
    "method",
    "label",
    "params",
    "main",
    "p50 ms",
    "±95%",
    "speed-up [95% CI]",
    "density",
  ];
  // The speed-up against the fastest dense engine, where in some case that is not the reference
  // (elsewhere it equals the speed-up, and the column would only take the parameters' room).
  const references = new Map(
    run.cells.filter((c) => c.isReference).map((c) => [caseKeyOf(c), c.method.id]),
  );
  const vsFastest = run.cells.some((c) =>
    c.status === "ok" && c.speedupVsFastestDense &&
    c.speedupVsFastestDense.method !== references.get(caseKeyOf(c))
  );
  if (vsFastest) header.splice(7, 0, "vs fastest dense");
  if (wide) header.push("realized");
  header.push("n", "status");
  const cases = new Map<string, Cell[]>();
  for (const cell of run.cells) {
    const key = caseKeyOf(cell);
    cases.set(key, [...(cases.get(key) ?? []), cell]);
  }
  const blocks = [...cases.values()].map((cells) => {
    const varying = varyingParams(cells);
    return {
      cells,
      rows: cells.map((c) =>
        row(c, {
          wide,
          varying: varying.get(c.method.id) ?? new Set(),
          labels: options.labels,
          vsFastest,
        })
      ),
    };
  });
  const all = blocks.flatMap((b) => b.rows);
  const widths = header.map((h, i) => Math.max(h.length, ...all.map((r) => r[i].length)));
  if (!wide) {
    // The params column gives way so the table fits: full parameters are in --wide and the file.
    const others = widths.reduce((n, w, i) => i === PARAMS_COLUMN ? n : n + w, 0);
    const room = TABLE_WIDTH - others - 2 * (widths.length - 1);
    widths[PARAMS_COLUMN] = Math.max(6, Math.min(widths[PARAMS_COLUMN], room));
    for (const r of all) r[PARAMS_COLUMN] = clip(r[PARAMS_COLUMN], widths[PARAMS_COLUMN]);
  }
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd();
  const out = [line(header)];
  for (const { cells, rows } of blocks) {
    const first = cells[0];
    const direction = first.mainMetric.higherIsBetter ? "higher is better" : "lower is better";
    const engine = cells.find((c) => c.status === "ok" && c.speedupVsFastestDense);
    const fastest = engine?.status === "ok"
      ? `, fastest dense: ${engine.speedupVsFastestDense!.method}`
      : "";
    const title =
      `${first.task.id} [${first.task.caseLabel}] · main: ${first.mainMetric.name} (${direction})${fastest}`;
    out.push("", wide ? title : clip(title, TABLE_WIDTH), ...rows.map(line));
  }
  return out.join("\n");
}

/**
 * What the label column means, and the reason of every method in `run` whose figures do not speak
 * for its paper's method (stand-ins and oracles), one line each; empty when there is none.
 * `labels` stand in for a file written before methods declared one (marked `*`).
 */
export function fidelityLines(run: RunFile, labels?: ReadonlyMap<string, Fidelity>): string[] {
  const flagged = new Map<string, string>();
  for (const c of run.cells) {
    const today = c.method.fidelity ? undefined : labels?.get(c.method.id);
    const f = c.method.fidelity ?? today;
    if (f && NOT_BEST_LEVELS.includes(f.level)) {
      flagged.set(c.method.id, `${f.level}${today ? "*" : ""}: ${f.reason}`);
    }
  }
  if (flagged.size === 0) return [];
  return [
    "Labels (faithful, simplified, stand-in, oracle, peer, baseline): a stand-in's figures are its " +
    "heuristic's, an oracle's an upper bound; neither counts as best" +
    ([...flagged.values()].some((t) => t.includes("*:"))
      ? " (* today's label: the run file predates labels)."
      : "."),
    ...[...flagged].map(([id, text]) => `  ${id} — ${text}`),
  ];
}

/**
 * The run's same-work check (see {@link sameWorkPairs}): one line per pair of cells that did the
 * same work, with both speed-ups and whether their intervals overlap; empty when there is none.
 */
export function sameWorkLines(run: RunFile): string[] {
  const pairs = sameWorkPairs(run.cells);
  if (pairs.length === 0) return [];
  const name = (c: Cell) => clip(`${c.method.id}[${Object.values(c.method.params).join(",")}]`, 40);
  const bad = pairs.filter((p) => p.overlap === false).length;
  return [
    `Same work, same speed-up? ${pairs.length} pair(s) of cells did equal work; ${bad} disagree:`,
    ...pairs.map((p) =>
      `  ${p.overlap === null ? "?" : p.overlap ? "ok" : "DISAGREE"}  ${name(p.a)} ${
        formatSpeedup(p.a.speedup)
      } vs ${name(p.b)} ${formatSpeedup(p.b.speedup)} (${p.a.task.id}[${p.a.task.caseLabel}])`
        .slice(0, TABLE_WIDTH)
    ),
  ];
}
