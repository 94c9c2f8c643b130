// Two runs compared the way a regression check must: quality exactly (the bench's quality figures
// are deterministic, so any change is a change), latency statistically from the raw samples (a
// bootstrap interval of the ratio of medians, each run resampled on its own) and only between
// cells measured on the same device, with a threshold below which a slowdown is not reported.
import type { Cell, RunFile } from "../bench/results/schema.ts";
import { mulberry32 } from "../bench/random.ts";
import { median, percentile } from "../bench/stats.ts";
import { deviceOfCell } from "./devices.ts";

/** One cell's finding. */
export interface CellChange {
  key: string;
  kind:
    | "quality"
    | "latency-regression"
    | "latency-improvement"
    | "speedup-regression"
    | "speedup-improvement"
    | "status";
  /** What changed, in words a reader can act on. */
  detail: string;
}

/** What {@link compareForRegressions} found. */
export interface RegressionReport {
  a: string;
  b: string;
  threshold: number;
  /** Cells in both runs, and those whose latency could be compared (ok in both, one device). */
  common: number;
  latencyCompared: number;
  changes: CellChange[];
  /** Whether anything should fail a check: a quality change, a status change or a regression. */
  failing: boolean;
}

function samplesOf(cell: Cell): number[] | null {
  if (cell.status !== "ok") return null;
  const s = (cell.latency.kernel ?? cell.latency.wall).samples;
  return s.length > 0 ? s : null;
}

/**
 * The ratio median(b) / median(a) of two independent sample sets with a 95% bootstrap interval:
 * each set resampled on its own (the runs share no rounds), seeded so it reproduces.
 */
export function medianRatioInterval(
  a: readonly number[],
  b: readonly number[],
  resamples = 2000,
): { ratio: number; ci95: [number, number] } {
  const uniform = mulberry32(0x5eed);
  const draw = (xs: readonly number[]) =>
    Array.from(xs, () => xs[Math.floor(uniform() * xs.length)]);
  const ratios: number[] = [];
  for (let i = 0; i < resamples; i++) ratios.push(median(draw(b)) / median(draw(a)));
  ratios.sort((x, y) => x - y);
  return {
    ratio: median(b) / median(a),
    ci95: [percentile(ratios, 2.5), percentile(ratios, 97.5)],
  };
}

function qualityText(c: Cell): string {
  const v = c.metrics[c.mainMetric.name];
  return v === undefined ? "none" : String(v);
}

/**
 * Compares run `b` with run `a` cell by cell.
 *
 * @param threshold relative slowdown below which a latency regression is not reported (0.1 =
 *   10%): a regression needs the whole interval of b/a above 1 + threshold
 */
export function compareForRegressions(
  a: RunFile,
  b: RunFile,
  threshold = 0.1,
): RegressionReport {
  const inA = new Map(a.cells.map((c) => [c.key, c]));
  const changes: CellChange[] = [];
  let common = 0, latencyCompared = 0;
  for (const cb of b.cells) {
    const ca = inA.get(cb.key);
    if (!ca) continue;
    common++;
    if (ca.status !== cb.status) {
      changes.push({ key: cb.key, kind: "status", detail: `${ca.status} → ${cb.status}` });
      continue;
    }
    const qa = qualityText(ca), qb = qualityText(cb);
    if (qa !== qb) {
      changes.push({
        key: cb.key,
        kind: "quality",
        detail: `${cb.mainMetric.name} ${qa} → ${qb}`,
      });
    }
    // Speed-ups carry no machine (each is over its own run's baseline): compared on any devices,
    // a change when their paired intervals are disjoint and beyond the threshold.
    if (ca.status === "ok" && cb.status === "ok" && ca.speedup && cb.speedup) {
      const [a0, a1] = ca.speedup.ci95 ?? [ca.speedup.value, ca.speedup.value];
      const [b0, b1] = cb.speedup.ci95 ?? [cb.speedup.value, cb.speedup.value];
      const ratio = cb.speedup.value / ca.speedup.value;
      const text = `speed-up ×${ca.speedup.value.toFixed(2)} [${a0.toFixed(2)}–${
        a1.toFixed(2)
      }] → ×${cb.speedup.value.toFixed(2)} [${b0.toFixed(2)}–${b1.toFixed(2)}]`;
      if (b1 < a0 && ratio < 1 - threshold) {
        changes.push({ key: cb.key, kind: "speedup-regression", detail: text });
      } else if (b0 > a1 && ratio > 1 + threshold) {
        changes.push({ key: cb.key, kind: "speedup-improvement", detail: text });
      }
    }
    const sa = samplesOf(ca), sb = samplesOf(cb);
    if (!sa || !sb) continue;
    // Latency means nothing across machines: only cells measured on one device are compared.
    if (deviceOfCell(a, ca).id !== deviceOfCell(b, cb).id) continue;
    latencyCompared++;
    const { ratio, ci95 } = medianRatioInterval(sa, sb);
    const text = `p50 ×${ratio.toFixed(3)} [${ci95[0].toFixed(3)}–${
      ci95[1].toFixed(3)
    }] (n=${sa.length}/${sb.length})`;
    if (ci95[0] > 1 + threshold) {
      changes.push({ key: cb.key, kind: "latency-regression", detail: text });
    } else if (ci95[1] < 1 - threshold) {
      changes.push({ key: cb.key, kind: "latency-improvement", detail: text });
    }
  }
  return {
    a: a.runId,
    b: b.runId,
    threshold,
    common,
    latencyCompared,
    changes,
    failing: changes.some((c) => !c.kind.endsWith("-improvement")),
  };
}

/** The report as markdown: counts, then one table row per finding. */
export function regressionMarkdown(r: RegressionReport): string {
  const count = (k: CellChange["kind"]) => r.changes.filter((c) => c.kind === k).length;
  const lines = [
    `# ${r.b} against ${r.a}`,
    "",
    `${r.common} cells in both runs; latency compared on ${r.latencyCompared} (ok in both, same device), threshold ${
      (100 * r.threshold).toFixed(0)
    }%.`,
    "",
    `- quality changes: ${count("quality")}`,
    `- status changes: ${count("status")}`,
    `- latency regressions: ${count("latency-regression")}`,
    `- latency improvements: ${count("latency-improvement")}`,
    `- speed-up regressions: ${count("speedup-regression")}`,
    `- speed-up improvements: ${count("speedup-improvement")}`,
  ];
  if (r.changes.length > 0) {
    lines.push("", "| cell | finding | detail |", "| --- | --- | --- |");
    for (const c of r.changes) {
      lines.push(`| \`${c.key.replaceAll("|", "\\|")}\` | ${c.kind} | ${c.detail} |`);
    }
  }
  return lines.join("\n") + "\n";
}
