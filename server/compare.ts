// Two runs side by side, cell by cell: a change counts only when the confidence intervals of the
// two figures do not overlap.
import type { Cell, RunFile } from "../bench/results/schema.ts";

/** What happened to a figure between run a and run b. */
export type Verdict = "improvement" | "regression" | "unchanged" | "missing";

/** One matched cell. */
export interface ComparedCell {
  key: string;
  taskId: string;
  methodTitle: string;
  methodId: string;
  caseText: string;
  paramsText: string;
  a: Cell | null;
  b: Cell | null;
  latency: Verdict;
  metric: Verdict;
}

function headline(c: Cell | null) {
  return c?.status === "ok" && c.latency ? c.latency.kernel ?? c.latency.wall : null;
}

function metricCi(c: Cell): [number, number] | null {
  const lo = c.metrics[`${c.mainMetric.name}_ci95_low`];
  const hi = c.metrics[`${c.mainMetric.name}_ci95_high`];
  return typeof lo === "number" && typeof hi === "number" ? [lo, hi] : null;
}

/** Compares two intervals where lower is better. */
function lowerBetter(a: [number, number], b: [number, number]): Verdict {
  if (b[0] > a[1]) return "regression";
  if (b[1] < a[0]) return "improvement";
  return "unchanged";
}

function metricVerdict(a: Cell | null, b: Cell | null): Verdict {
  if (!a || !b || a.status !== "ok" || b.status !== "ok") return "missing";
  const va = a.metrics[a.mainMetric.name];
  const vb = b.metrics[b.mainMetric.name];
  if (typeof va !== "number" || typeof vb !== "number") return "missing";
  // Without a reported interval only an exact repeat counts as unchanged.
  const ia = metricCi(a) ?? [va, va];
  const ib = metricCi(b) ?? [vb, vb];
  const sign = a.mainMetric.higherIsBetter ? -1 : 1;
  const flip = (i: [number, number]): [number, number] => sign > 0 ? i : [-i[1], -i[0]];
  return lowerBetter(flip(ia), flip(ib));
}

function text(values: Record<string, unknown>): string {
  return Object.keys(values).sort().map((k) => `${k}=${values[k]}`).join(", ");
}

/**
 * Matches the cells of two runs by their key and judges latency and main metric.
 *
 * @param a the older run
 * @param b the newer run
 * @returns one entry per key in either run, in run a's order then b's new keys
 */
export function compareRuns(a: RunFile, b: RunFile): ComparedCell[] {
  const inB = new Map(b.cells.map((c) => [c.key, c]));
  const keys = [...new Set([...a.cells.map((c) => c.key), ...b.cells.map((c) => c.key)])];
  const inA = new Map(a.cells.map((c) => [c.key, c]));
  return keys.map((key) => {
    const ca = inA.get(key) ?? null;
    const cb = inB.get(key) ?? null;
    const any = (ca ?? cb)!;
    const la = headline(ca);
    const lb = headline(cb);
    return {
      key,
      taskId: any.task.id,
      methodId: any.method.id,
      methodTitle: any.method.title,
      caseText: text(any.task.case),
      paramsText: text(any.method.params),
      a: ca,
      b: cb,
      latency: la && lb ? lowerBetter(la.ci95, lb.ci95) : "missing",
      metric: metricVerdict(ca, cb),
    };
  });
}
