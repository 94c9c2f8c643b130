// `deno task steps-replay RUN.json RUN.json [...]`: how often the step detector would cry wolf on
// this machine, and how fast it catches a real 10% step. From runs of one configuration (cells in
// at least two of them, on one device), each cell's night-to-night ratios (its p50 over its median
// across the runs) and its own relative interval half-widths are pooled; simulated series of 40
// nights draw from that pool, clean and with a ×1.1 step at night 20.
import { readRunFile } from "../bench/results/run_file.ts";
import type { RunFile } from "../bench/results/schema.ts";
import { mulberry32 } from "../bench/random.ts";
import { median } from "../bench/stats.ts";
import { deviceOfCell } from "./devices.ts";
import { detectSteps, type NightPoint } from "./steps.ts";

/** The pooled night-to-night ratios and relative half-widths of cells seen in several runs. */
export function nightNoise(runs: readonly RunFile[]): { ratios: number[]; halfWidths: number[] } {
  const byCell = new Map<string, { p50: number; half: number }[]>();
  for (const run of runs) {
    for (const cell of run.cells) {
      if (cell.status !== "ok") continue;
      const s = cell.latency.kernel ?? cell.latency.wall;
      const key = `${deviceOfCell(run, cell).id}|${cell.key}`;
      const half = s.p50Ci95 ? (s.p50Ci95[1] - s.p50Ci95[0]) / 2 / s.p50 : 0;
      byCell.set(key, [...(byCell.get(key) ?? []), { p50: s.p50, half }]);
    }
  }
  const ratios: number[] = [], halfWidths: number[] = [];
  for (const nights of byCell.values()) {
    if (nights.length < 2) continue;
    const m = median(nights.map((n) => n.p50));
    for (const n of nights) {
      ratios.push(n.p50 / m);
      halfWidths.push(n.half);
    }
  }
  return { ratios, halfWidths };
}

/** False alarms per judged night, and the share of ×`step` steps caught within 2 nights. */
export function replay(
  noise: { ratios: number[]; halfWidths: number[] },
  options: { k: number; series?: number; nights?: number; step?: number; seed?: number },
): { falseAlarmsPerNight: number; caughtWithin2: number } {
  const { k, series = 500, nights = 40, step = 1.1 } = options;
  const uniform = mulberry32(options.seed ?? 7);
  const pick = (xs: number[]) => xs[Math.floor(uniform() * xs.length)];
  const make = (withStep: boolean): NightPoint[] =>
    Array.from({ length: nights }, (_, i) => {
      const value = pick(noise.ratios) * (withStep && i >= nights / 2 ? step : 1);
      return { runId: `n${i}`, value, halfWidth: pick(noise.halfWidths) * value };
    });
  let alarms = 0, caught = 0;
  for (let s = 0; s < series; s++) {
    alarms += detectSteps(make(false), { k }).length;
    const found = detectSteps(make(true), { k });
    if (found.some((f) => f.at === nights / 2)) caught++;
  }
  return { falseAlarmsPerNight: alarms / (series * (nights - 4)), caughtWithin2: caught / series };
}

if (import.meta.main) {
  if (Deno.args.length < 2) {
    console.error("usage: deno task steps-replay RUN.json RUN.json [RUN.json...]");
    Deno.exit(2);
  }
  try {
    const runs = await Promise.all(Deno.args.map((p) => readRunFile(p)));
    const noise = nightNoise(runs);
    if (noise.ratios.length === 0) throw new Error("no cell is in two of these runs on one device");
    const spread = noise.ratios.map((r) => Math.abs(Math.log(r))).sort((a, b) => a - b);
    console.log(
      `${noise.ratios.length} cell-nights; median |log ratio| ${median(spread).toFixed(3)}, 90th ${
        spread[Math.floor(0.9 * (spread.length - 1))].toFixed(3)
      }`,
    );
    console.log("| k | false alarms per night | 10% step caught within 2 nights |");
    console.log("| --- | --- | --- |");
    for (const k of [2, 3, 4, 6, 8]) {
      const r = replay(noise, { k });
      console.log(
        `| ${k} | ${r.falseAlarmsPerNight.toFixed(4)} | ${(100 * r.caughtWithin2).toFixed(1)}% |`,
      );
    }
  } catch (error) {
    console.error(`error: ${(error as Error).message}`);
    Deno.exit(1);
  }
}
