// `deno task crossover RUN.json [--task ID] [--axis NAME]`: where a sparse kernel stops beating
// the dense baseline. For each case without the axis parameter (shape, batch, engine) and each
// method, the speed-ups along the axis (density) and the lowest value at which it is slower.
import { parseArgs } from "node:util";
import { formatSpeedup } from "../cli/summary_table.ts";
import { readRunFile, RunFileError } from "./run_file.ts";
import type { Cell, RunFile, Speedup } from "./schema.ts";

/** The task and the case parameter a crossover is read along, by default spmm-crossover's. */
export interface CrossoverOptions {
  /** Default "spmm-crossover". */
  task?: string;
  /** A numeric case parameter; default "density". */
  axis?: string;
}

/** One method on one case (all parameters but the axis) along the axis. */
export interface CrossoverRow {
  /** The case's other parameters, in the order the cells list them. */
  group: Cell["task"]["case"];
  method: string;
  /** Each axis value the run holds for it, ascending: a speed-up, or the cell's status. */
  points: { at: number; speedup: Speedup | null; status: Cell["status"] }[];
  /** The lowest axis value at which the method is slower than the baseline (speed-up < 1). */
  crossover: number | null;
  /** The highest axis value below the crossover (any, when there is none) where it is faster. */
  lastFaster: number | null;
  /**
   * Whether the method does the dense work at every point it ran (FLOPs ratio 1: a dense peer
   * such as another library's MatMul), so it has no crossover to speak of.
   */
  dense: boolean;
}

function methodLabel(cell: Cell): string {
  const params = Object.entries(cell.method.params).map(([k, v]) => `${k}=${v}`).join(",");
  return params ? `${cell.method.id}[${params}]` : cell.method.id;
}

/**
 * The crossover of every non-reference method of `task` along `axis`: cells are grouped by
 * their case's other parameters and their method (with its parameters); within a group the
 * crossover is the lowest axis value whose speed-up is below 1, and `lastFaster` the highest one
 * under it above 1. Cells without a speed-up (skipped, failed, no baseline) are points without
 * one and decide nothing.
 *
 * @param run a run file's contents
 * @param options the task and the axis
 * @returns one row per group and method: groups in the order the run first holds them, methods
 *   within a group in the order the run first names them
 * @throws {RangeError} when a cell of the task has no numeric axis parameter
 * @example
 * ```ts
 * import { assertEquals } from "../../tests/assert.ts";
 * import { emptyRun } from "../../tests/fixtures/run_fixture.ts";
 * import { findCrossovers } from "./crossover.ts";
 * assertEquals(findCrossovers(emptyRun()), []);
 * ```
 */
export function findCrossovers(run: RunFile, options: CrossoverOptions = {}): CrossoverRow[] {
  const task = options.task ?? "spmm-crossover", axis = options.axis ?? "density";
  const rows = new Map<string, CrossoverRow>();
  const groupOrder = new Map<string, number>(), methodOrder = new Map<string, number>();
  const flops = new Map<CrossoverRow, (number | null)[]>();
  for (const cell of run.cells) {
    if (cell.task.id !== task || cell.isReference) continue;
    const at = cell.task.case[axis];
    if (typeof at !== "number") {
      throw new RangeError(
        `Cannot read a crossover along '${axis}' as cell ${cell.key} has no numeric '${axis}': got ${
          JSON.stringify(at)
        }`,
      );
    }
    const group = Object.fromEntries(Object.entries(cell.task.case).filter(([k]) => k !== axis));
    const method = methodLabel(cell);
    const groupKey = JSON.stringify(Object.entries(group).sort());
    if (!groupOrder.has(groupKey)) groupOrder.set(groupKey, groupOrder.size);
    if (!methodOrder.has(method)) methodOrder.set(method, methodOrder.size);
    const key = `${groupKey}|${method}`;
    let row = rows.get(key);
    if (!row) {
      row = { group, method, points: [], crossover: null, lastFaster: null, dense: false };
      rows.set(key, row);
      flops.set(row, []);
    }
    if (cell.status === "ok") flops.get(row)!.push(cell.sparsity.flopsRatio);
    row.points.push({
      at,
      speedup: cell.status === "ok" ? cell.speedup : null,
      status: cell.status,
    });
  }
  for (const row of rows.values()) {
    row.points.sort((a, b) => a.at - b.at);
    const slower = row.points.find((p) => p.speedup && p.speedup.value < 1);
    row.crossover = slower?.at ?? null;
    const faster = row.points.filter((p) =>
      p.speedup && p.speedup.value > 1 && (row.crossover === null || p.at < row.crossover)
    );
    row.lastFaster = faster.at(-1)?.at ?? null;
    const ratios = flops.get(row)!;
    row.dense = ratios.length > 0 && ratios.every((r) => r !== null && r >= 1);
  }
  const order = (row: CrossoverRow) => [
    groupOrder.get(JSON.stringify(Object.entries(row.group).sort()))!,
    methodOrder.get(row.method)!,
  ];
  return [...rows.values()].sort((a, b) => {
    const [x, y] = [order(a), order(b)];
    return x[0] - y[0] || x[1] - y[1];
  });
}

function pad(cells: string[][]): string {
  const widths = cells[0].map((_, i) => Math.max(...cells.map((r) => r[i].length)));
  return cells.map((r) => r.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd()).join("\n");
}

/**
 * The crossover table of a run: one line per case group and method, each axis value's speed-up
 * with its 95% paired-bootstrap interval (`*` where the interval contains 1), then the
 * crossover: the lowest value where the method is slower, "≤ v" when it is slower from the
 * lowest measured, "> v" when it is faster or level at every one, "n/a" for a method doing the
 * dense work (a peer library's dense MatMul).
 *
 * @param run a run file's contents
 * @param options the task and the axis
 * @returns the table, or a line saying the run holds no such cells
 * @example
 * ```ts
 * import { assertStringIncludes } from "../../tests/assert.ts";
 * import { emptyRun } from "../../tests/fixtures/run_fixture.ts";
 * import { crossoverTable } from "./crossover.ts";
 * assertStringIncludes(crossoverTable(emptyRun()), "no cells");
 * ```
 */
export function crossoverTable(run: RunFile, options: CrossoverOptions = {}): string {
  const task = options.task ?? "spmm-crossover", axis = options.axis ?? "density";
  const rows = findCrossovers(run, options);
  if (rows.length === 0) return `Run ${run.runId} holds no cells of ${task} besides its baseline.`;
  const values = [...new Set(rows.flatMap((r) => r.points.map((p) => p.at)))].sort((a, b) => a - b);
  const groupKeys = Object.keys(rows[0].group);
  const header = [...groupKeys, "method", ...values.map((v) => `${axis}=${v}`), "crossover"];
  const body = rows.map((row) => {
    const measured = row.points.filter((p) => p.speedup).map((p) => p.at);
    const crossover = row.dense
      ? "n/a (dense work)"
      : row.crossover === null
      ? measured.length > 0 ? `> ${measured.at(-1)}` : "—"
      : row.crossover === measured[0]
      ? `≤ ${row.crossover}`
      : `${row.crossover} (faster at ${row.lastFaster ?? "—"})`;
    return [
      ...groupKeys.map((k) => String(row.group[k] ?? "—")),
      row.method,
      ...values.map((v) => {
        const point = row.points.find((p) => p.at === v);
        if (!point) return "";
        if (!point.speedup) return point.status;
        const ci = point.speedup.ci95;
        return `${formatSpeedup(point.speedup)}${ci && ci[0] <= 1 && 1 <= ci[1] ? "*" : ""}`;
      }),
      crossover,
    ];
  });
  return [
    `${task} · speed-up over the baseline along ${axis} · crossover: lowest ${axis} at which the method is slower`,
    pad([header, ...body]),
    "* the 95% interval contains ×1 (not told apart from the baseline)",
  ].join("\n");
}

const USAGE = "Usage: deno task crossover results/runs/RUN.json [--task ID] [--axis NAME]";

function fail(message: string): never {
  console.error(`${message}\n${USAGE}`);
  Deno.exit(2);
}

if (import.meta.main) {
  let parsed;
  try {
    parsed = parseArgs({
      args: Deno.args,
      allowPositionals: true,
      options: { task: { type: "string" }, axis: { type: "string" } },
    });
  } catch (error) {
    fail((error as Error).message);
  }
  const [file, ...extra] = parsed.positionals;
  if (!file || extra.length > 0) fail("Give exactly one run file.");
  try {
    const run = await readRunFile(file);
    console.log(crossoverTable(run, { task: parsed.values.task, axis: parsed.values.axis }));
  } catch (error) {
    if (error instanceof RunFileError || error instanceof RangeError) {
      fail(`Cannot read ${file}: ${(error as Error).message}`);
    }
    throw error;
  }
}
