// Progress while a run goes: a live line on a terminal, one plain line per cell in a pipe.
import { paramsLabel, type ParamValues } from "../metadata.ts";
import type { PlannedCell } from "../plan.ts";
import type { Cell } from "../results/schema.ts";
import { headlineP50 } from "../results/speedup.ts";
import { formatSpeedup } from "./summary_table.ts";

function seconds(ms: number): string {
  const s = Math.round(ms / 1000);
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s` : `${s}s`;
}

function label(method: { id: string; params: ParamValues }, task: { id: string; case: string }) {
  const p = paramsLabel(method.params);
  return `${method.id}${p ? `[${p}]` : ""} on ${task.id}[${task.case}]`;
}

/** Writes progress to stderr, so stdout stays clean for `--json`. */
export class Progress {
  readonly #live: boolean;
  readonly #start = performance.now();
  readonly #encoder = new TextEncoder();

  constructor(live = Deno.stderr.isTerminal()) {
    this.#live = live;
  }

  #write(text: string): void {
    Deno.stderr.writeSync(this.#encoder.encode(text));
  }

  #timing(done: number, total: number): string {
    const elapsed = performance.now() - this.#start;
    const eta = done > 0 ? (elapsed / done) * (total - done) : NaN;
    return `elapsed ${seconds(elapsed)}${Number.isFinite(eta) ? `, ETA ${seconds(eta)}` : ""}`;
  }

  start(index: number, total: number, cell: PlannedCell): void {
    if (!this.#live) return;
    const text = `cell ${index + 1}/${total} ${
      label(
        { id: cell.method.meta.id, params: cell.params },
        { id: cell.task.meta.id, case: paramsLabel(cell.caseParams, cell.task.meta.parameters) },
      )
    } · ${this.#timing(index, total)}`;
    this.#write(`\r\x1b[2K${text.slice(0, (Deno.consoleSize?.().columns ?? 120) - 1)}`);
  }

  done(index: number, total: number, cell: Cell): void {
    const outcome = cell.status === "ok" && cell.latency
      ? `ok p50 ${headlineP50(cell.latency).toFixed(3)} ms${
        cell.speedup ? ` ${formatSpeedup(cell.speedup)}` : ""
      }${cell.latency.noisy ? " (noisy)" : ""} n=${(cell.latency.kernel ?? cell.latency.wall).n}`
      : `${cell.status}${cell.error ? `: ${cell.error.split("\n")[0].slice(0, 160)}` : ""}`;
    const line = `[${index}/${total}] ${
      label(cell.method, { id: cell.task.id, case: cell.task.caseLabel })
    } ${outcome} (${this.#timing(index, total)})`;
    this.#write(this.#live ? `\r\x1b[2K${line}\n` : `${line}\n`);
  }
}
