// Progress while a run goes: a live line on a terminal, one plain line per cell in a pipe.
import type { PlannedCell } from "../plan.ts";
import type { Cell } from "../results/schema.ts";
import { headlineP50 } from "../results/speedup.ts";

function seconds(ms: number): string {
  const s = Math.round(ms / 1000);
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s` : `${s}s`;
}

function label(
  methodId: string,
  params: Record<string, unknown>,
  taskId: string,
  caseParams: Record<string, unknown>,
): string {
  const p = Object.entries(params).map(([k, v]) => `${k}=${v}`).join(",");
  const c = Object.entries(caseParams).map(([k, v]) => `${k}=${v}`).join(",");
  return `${methodId}${p ? `[${p}]` : ""} on ${taskId}[${c}]`;
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
      label(cell.method.meta.id, cell.params, cell.task.meta.id, cell.caseParams)
    } · ${this.#timing(index, total)}`;
    this.#write(`\r\x1b[2K${text.slice(0, (Deno.consoleSize?.().columns ?? 120) - 1)}`);
  }

  done(index: number, total: number, cell: Cell): void {
    const outcome = cell.status === "ok" && cell.latency
      ? `ok p50 ${headlineP50(cell.latency).toFixed(3)} ms${
        cell.speedup ? ` ×${cell.speedup.toFixed(2)}` : ""
      }`
      : `${cell.status}${cell.error ? `: ${cell.error.split("\n")[0].slice(0, 160)}` : ""}`;
    const line = `[${index}/${total}] ${
      label(cell.method.id, cell.method.params, cell.task.id, cell.task.case)
    } ${outcome} (${this.#timing(index, total)})`;
    this.#write(this.#live ? `\r\x1b[2K${line}\n` : `${line}\n`);
  }
}
