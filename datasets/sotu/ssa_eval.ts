// SSA's evaluation: bits per character of the sotu-lm-short models on the SOTU test years and on
// Moby Dick, under full attention and under block-sparse attention at several budgets, and the
// attention mass each budget drops under full attention (how sparse each model's attention is).
// `deno run -A datasets/sotu/ssa_eval.ts [--bytes N] [--models DIR] [--out FILE]` writes
// datasets/sotu/ssa_eval.json (or FILE).
import type {
  BlockSparseOptions,
  BlockSparseSelfAttention,
} from "../../bench/nn/block_sparse_attention.ts";
import { loadCheckpoint } from "../../bench/nn/checkpoint.ts";
import type { Gpt } from "../../bench/nn/gpt.ts";
import { bootstrapInterval } from "../../bench/stats.ts";
import { type LmWindow, scoreWindows } from "./lm_eval.ts";
import { lmIntervals } from "./lm_perplexity_task.ts";
import { loadMobyDick } from "./moby_dick.ts";
import { loadSotuSpeeches, sotuSplitBytes } from "./sotu.ts";
import { SOTU_LM_DIR } from "./train_sotu_lm.ts";
import { shortLmModel } from "./train_sotu_lm_short.ts";

/** Blocks of 16 kept per query (its own included) in the sparse modes, of ≤ 8 at context 128. */
export const SSA_EVAL_BUDGETS = [1, 2, 4] as const;
export const SSA_EVAL_MODELS = [
  "sotu-lm-short-dense",
  "sotu-lm-short-sparse",
  "sotu-lm-short-ssa",
] as const;

/** A model to evaluate, with its attention layers (whose path and budget the evaluation sets). */
export interface SsaEvalModel {
  name: string;
  model: Gpt;
  attention: BlockSparseSelfAttention[];
}

export interface SsaEvalOptions {
  /** Bytes scored from the start of each text (default 65,536). */
  bytes?: number;
  budgets?: readonly number[];
  /** The models (default: the committed sotu-lm-short checkpoints). */
  models?: SsaEvalModel[];
  /** The texts (default: the SOTU test years and Moby Dick). */
  texts?: { name: string; bytes: Uint8Array }[];
  log?: (line: string) => void;
}

type Interval = [number, number];

export interface SsaEvalRow {
  model: string;
  text: string;
  /** "full", or "sparse@k": k blocks per query. */
  mode: string;
  /** Share of the causal (query, key) pairs the mode computes at full context. */
  density: number;
  bitsPerChar: number;
  bitsPerCharCi95: Interval;
}

/** Full-attention mass outside a budget's blocks, mean over the queries that see more blocks. */
export interface SsaDroppedRow {
  model: string;
  text: string;
  budget: number;
  /** By the q·mean(k) selection the sparse path uses. */
  selected: number;
  selectedCi95: Interval;
  /** By the best `budget` blocks of each query (an upper bound on any block selection). */
  oracle: number;
  oracleCi95: Interval;
}

/** A paired difference of bits per character on the same windows: model − baseline. */
export interface SsaPairRow {
  text: string;
  mode: string;
  model: string;
  baseline: string;
  difference: number;
  ci95: Interval;
}

/** Bits per byte of a fixed slice, which the checkpoints' test re-scores exactly. */
export interface SsaSliceRow {
  model: string;
  mode: string;
  bitsPerByte: number;
}

/** The slice: the first 4,097 bytes of the first text (32 windows), full and at the training budget. */
export const SSA_SLICE_BYTES = 4097;

export interface SsaEvalResult {
  bytesPerText: number;
  slice: { text: string; bytes: number; rows: SsaSliceRow[] };
  rows: SsaEvalRow[];
  dropped: SsaDroppedRow[];
  pairs: SsaPairRow[];
}

function startsChar(byte: number): boolean {
  return (byte & 0xc0) !== 0x80;
}

/** Each window's characters predicted, and the text's first character (charged 8 bits). */
function windowChars(windows: readonly LmWindow[], bytes: Uint8Array): number[] {
  return windows.map((w) => {
    let n = 0;
    for (let i = w.start + 1; i <= w.start + w.bytes; i++) if (startsChar(bytes[i])) n++;
    return n;
  });
}

/**
 * Scores every model on every text in every mode.
 *
 * @returns bits per character with 95% bootstrap intervals over the context windows, the dropped
 *   attention mass per budget, and paired differences between the models
 */
export async function evaluateSsa(options: SsaEvalOptions = {}): Promise<SsaEvalResult> {
  const limit = options.bytes ?? 65536;
  const budgets = options.budgets ?? SSA_EVAL_BUDGETS;
  const log = options.log ?? console.log;
  const models = options.models ?? await loadShortModels();
  const texts = options.texts ?? await defaultTexts();
  const rows: SsaEvalRow[] = [], dropped: SsaDroppedRow[] = [], pairs: SsaPairRow[] = [];
  const modes = ["full", ...budgets.map((k) => `sparse@${k}`)];
  // Each model's training budget, restored after the sweep.
  const trained = models.map((m) => ({ ...m.attention[0].sparse }));
  for (const text of texts) {
    const bytes = text.bytes.subarray(0, limit);
    const bits = new Map<string, number[]>();
    let chars: number[] = [];
    for (const m of models) {
      for (const mode of modes) {
        const budget = mode === "full" ? 0 : Number(mode.slice("sparse@".length));
        const perWindow: { selected: number[]; oracle: number[]; queries: number[] }[] = budgets
          .map(() => ({ selected: [], oracle: [], queries: [] }));
        for (const a of m.attention) {
          a.alignWeight = 0;
          a.path = mode === "full" ? "full" : "sparse";
          if (budget > 0) a.sparse = { ...a.sparse, blocks: budget };
          a.measureBudgets = mode === "full" ? [...budgets] : [];
        }
        // A view of the model whose forward also collects what the layers measured, batch by
        // batch (scoreWindows runs its windows in text order).
        const probe: Gpt = Object.create(m.model);
        probe.forward = (ids: Int32Array, batch: number) => {
          const logits = m.model.forward(ids, batch);
          if (mode === "full") {
            budgets.forEach((_, k) => {
              for (let r = 0; r < batch; r++) {
                let s = 0, o = 0, q = 0;
                for (const a of m.attention) {
                  s += a.dropped[k].selected[r];
                  o += a.dropped[k].oracle[r];
                  q += a.dropped[k].queries[r];
                }
                perWindow[k].selected.push(s);
                perWindow[k].oracle.push(o);
                perWindow[k].queries.push(q);
              }
            });
          }
          return logits;
        };
        const started = performance.now();
        const score = scoreWindows(probe, bytes);
        chars = windowChars(score.windows, bytes);
        const firstChar = bytes.length > 0 && startsChar(bytes[0]) ? 1 : 0;
        const totalChars = chars.reduce((s, c) => s + c, firstChar);
        bits.set(`${m.name} ${mode}`, score.windows.map((w) => w.bits));
        const row: SsaEvalRow = {
          model: m.name,
          text: text.name,
          mode,
          density: mode === "full" ? 1 : m.attention[0].density(m.model.config.context),
          bitsPerChar: (score.bits + 8) / totalChars,
          bitsPerCharCi95: lmIntervals(score.windows, bytes).bitsPerChar,
        };
        rows.push(row);
        log(
          `${text.name} ${m.name} ${mode}: ${row.bitsPerChar.toFixed(4)} bits/char [${
            row.bitsPerCharCi95.map((v) => v.toFixed(4)).join("–")
          }] (${((performance.now() - started) / 1000).toFixed(0)} s)`,
        );
        if (mode === "full") {
          budgets.forEach((budget, k) => {
            const w = perWindow[k], ids = w.queries.map((_, i) => i);
            const ratio = (num: number[]) => (sample: readonly number[]) => {
              let a = 0, b = 0;
              for (const i of sample) {
                a += num[i];
                b += w.queries[i];
              }
              return b > 0 ? a / b : 0;
            };
            const all = ids;
            dropped.push({
              model: m.name,
              text: text.name,
              budget,
              selected: ratio(w.selected)(all),
              selectedCi95: bootstrapInterval(ids, ratio(w.selected)),
              oracle: ratio(w.oracle)(all),
              oracleCi95: bootstrapInterval(ids, ratio(w.oracle)),
            });
          });
        }
        for (const a of m.attention) a.measureBudgets = [];
      }
    }
    // Paired over the same windows: each model against each earlier one, mode by mode.
    const firstChar = bytes.length > 0 && startsChar(bytes[0]) ? 1 : 0;
    const ids = chars.map((_, i) => i);
    for (const mode of modes) {
      for (let i = 0; i < models.length; i++) {
        for (let j = 0; j < i; j++) {
          const a = bits.get(`${models[i].name} ${mode}`)!;
          const b = bits.get(`${models[j].name} ${mode}`)!;
          const diff = (sample: readonly number[]) => {
            let x = 8, y = 8, c = firstChar;
            for (const k of sample) {
              x += a[k];
              y += b[k];
              c += chars[k];
            }
            return (x - y) / c;
          };
          pairs.push({
            text: text.name,
            mode,
            model: models[i].name,
            baseline: models[j].name,
            difference: diff(ids),
            ci95: bootstrapInterval(ids, diff),
          });
        }
      }
    }
  }
  models.forEach((m, k) => m.attention.forEach((a) => resetAttention(a, trained[k])));
  const slice = {
    text: texts[0].name,
    bytes: SSA_SLICE_BYTES,
    rows: models.flatMap((m) =>
      (["full", "sparse"] as const).map((path) => ({
        model: m.name,
        mode: path === "full" ? "full" : `sparse@${m.attention[0].sparse.blocks}`,
        bitsPerByte: scoreSlice(m, texts[0].bytes, path),
      }))
    ),
  };
  return { bytesPerText: limit, slice, rows, dropped, pairs };
}

/** Back to plain inference: full path, the given budget, nothing measured. */
function resetAttention(a: BlockSparseSelfAttention, sparse: BlockSparseOptions): void {
  a.path = "full";
  a.sparse = { ...sparse };
  a.alignWeight = 0;
  a.measureBudgets = [];
}

/**
 * Bits per byte of the first {@link SSA_SLICE_BYTES} bytes on one path, at the model's current
 * budget (its training one after {@link evaluateSsa} or {@link loadShortModels}).
 */
export function scoreSlice(m: SsaEvalModel, bytes: Uint8Array, path: "full" | "sparse"): number {
  const sparse = { ...m.attention[0].sparse };
  for (const a of m.attention) {
    resetAttention(a, sparse);
    a.path = path;
  }
  const bits = scoreWindows(m.model, bytes, { limit: SSA_SLICE_BYTES }).bitsPerByte;
  for (const a of m.attention) resetAttention(a, sparse);
  return bits;
}

/** The committed sotu-lm-short checkpoints, each in a model with sparse-capable attention. */
export async function loadShortModels(dir: URL = SOTU_LM_DIR): Promise<SsaEvalModel[]> {
  const out: SsaEvalModel[] = [];
  for (const name of SSA_EVAL_MODELS) {
    const file = new URL(`${name}.safetensors`, dir);
    const bytes = await Deno.readFile(file).catch(() => {
      throw new Error(`${file.pathname} is missing: train it with 'deno task train ${name}'`);
    });
    const { model, attention } = shortLmModel();
    loadCheckpoint(model.parameters(), bytes);
    out.push({ name, model, attention });
  }
  return out;
}

async function defaultTexts(): Promise<{ name: string; bytes: Uint8Array }[]> {
  const speeches = await loadSotuSpeeches();
  return [
    { name: "sotu-test", bytes: sotuSplitBytes(speeches, "test") },
    { name: "moby-dick", bytes: (await loadMobyDick()).bytes },
  ];
}

/** The result as a markdown table: bits/char per model and mode, then the dropped mass. */
export function ssaTable(result: SsaEvalResult): string {
  const f = (v: number) => v.toFixed(3);
  const ci = (c: Interval) => `[${f(c[0])}–${f(c[1])}]`;
  const texts = [...new Set(result.rows.map((r) => r.text))];
  const modes = [...new Set(result.rows.map((r) => r.mode))];
  const models = [...new Set(result.rows.map((r) => r.model))];
  const lines = [
    `| model | text | ${modes.join(" | ")} |`,
    `| --- | --- | ${modes.map(() => "---").join(" | ")} |`,
  ];
  for (const text of texts) {
    for (const model of models) {
      const cells = modes.map((mode) => {
        const r = result.rows.find((x) => x.model === model && x.text === text && x.mode === mode)!;
        return `${f(r.bitsPerChar)} ${ci(r.bitsPerCharCi95)}`;
      });
      lines.push(`| ${model} | ${text} | ${cells.join(" | ")} |`);
    }
  }
  const budgets = [...new Set(result.dropped.map((d) => d.budget))];
  lines.push(
    "",
    `| model | text | ${
      budgets.map((k) => `dropped mass @${k} (selection / oracle)`).join(" | ")
    } |`,
    `| --- | --- | ${budgets.map(() => "---").join(" | ")} |`,
  );
  for (const text of texts) {
    for (const model of models) {
      const cells = budgets.map((k) => {
        const d = result.dropped.find((x) =>
          x.model === model && x.text === text && x.budget === k
        )!;
        return `${f(d.selected)} ${ci(d.selectedCi95)} / ${f(d.oracle)} ${ci(d.oracleCi95)}`;
      });
      lines.push(`| ${model} | ${text} | ${cells.join(" | ")} |`);
    }
  }
  return lines.join("\n");
}

if (import.meta.main) {
  const flag = (name: string) => {
    const k = Deno.args.indexOf(name);
    return k >= 0 ? Deno.args[k + 1] : undefined;
  };
  const i = Deno.args.indexOf("--bytes");
  const bytes = i >= 0 ? Number(Deno.args[i + 1]) : 65536;
  // --models DIR: checkpoints trained at another budget (deno task train … --steps N);
  // --out FILE: where the result goes (default ssa_eval.json beside this file).
  const dir = flag("--models");
  const models = dir
    ? new URL(dir.endsWith("/") ? dir : `${dir}/`, `file://${Deno.cwd()}/`)
    : undefined;
  if (!Number.isInteger(bytes) || bytes < 2) {
    console.error(`--bytes must be an integer ≥ 2: got '${Deno.args[i + 1]}'`);
    Deno.exit(2);
  }
  try {
    const loadStart = Deno.loadavg(), started = performance.now();
    const result = await evaluateSsa({
      bytes,
      models: models ? await loadShortModels(models) : undefined,
    });
    const out = flag("--out");
    const file = out
      ? new URL(out, `file://${Deno.cwd()}/`)
      : new URL("./ssa_eval.json", import.meta.url);
    const record = {
      ...result,
      minutes: (performance.now() - started) / 60000,
      loadAverage: { start: loadStart, end: Deno.loadavg() },
      evaluatedAt: new Date().toISOString(),
    };
    await Deno.writeTextFile(file, JSON.stringify(record, null, 2) + "\n");
    console.log(ssaTable(result));
    console.log(`wrote ${file.pathname}`);
  } catch (e) {
    console.error(e instanceof Error ? e.message : String(e));
    Deno.exit(1);
  }
}
