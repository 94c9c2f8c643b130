// Evaluation of the sparse-trained byte LMs (models/sparse/) against their dense baseline at the
// same 400-step budget (models/steps400/sotu-lm-short-dense): bits per character on the SOTU test
// years and on Moby Dick with 95% bootstrap intervals over context windows, each model's paired
// difference from the baseline over the same windows, the realized density of the sparse layers
// and the training cost from each card.
// `deno run -A datasets/sotu/sparse_lm_eval.ts [--bytes N] [--add]` writes sparse_lm_eval.json
// beside it (--add: scores only the checkpoints it lacks, against its stored baseline scores).
import { loadSparseCheckpoint } from "../../bench/families/pruning/mod.ts";
import { loadCheckpoint } from "../../bench/nn/checkpoint.ts";
import type { Gpt } from "../../bench/nn/gpt.ts";
import { bootstrapInterval } from "../../bench/stats.ts";
import { type LmWindow, scoreWindows } from "./lm_eval.ts";
import { lmIntervals } from "./lm_perplexity_task.ts";
import { loadMobyDick } from "./moby_dick.ts";
import { loadSotuSpeeches, sotuSplitBytes } from "./sotu.ts";
import { SOTU_LM_DIR } from "./train_sotu_lm.ts";
import { shortLmModel } from "./train_sotu_lm_short.ts";
import { SPARSE_LM_BUDGET_TEXT, SPARSE_LM_DIR, sparseLmLayers } from "./train_sotu_lm_sparse.ts";

/** The dense baseline: the short recipe at 400 steps. */
export const DENSE_400 = {
  name: "sotu-lm-short-dense",
  dir: new URL("./steps400/", SOTU_LM_DIR),
};

/** Bytes of the fixed slice (the SOTU test years' first 32 windows) the test re-scores. */
export const SPARSE_LM_SLICE_BYTES = 4097;

/** A loaded model and what its card says. */
export interface LoadedLm {
  name: string;
  model: Gpt;
  card: Record<string, unknown>;
}

/** Loads the 400-step dense baseline. */
export async function loadDense400(): Promise<LoadedLm> {
  const { model } = shortLmModel();
  const file = new URL(`${DENSE_400.name}.safetensors`, DENSE_400.dir);
  loadCheckpoint(model.parameters(), await readOrExplain(file, DENSE_400.name));
  const card = JSON.parse(
    await Deno.readTextFile(new URL(`${DENSE_400.name}.json`, DENSE_400.dir)),
  );
  return { name: `${DENSE_400.name} (400 steps)`, model, card };
}

/** Loads a sparse-trained LM (hard masks as trained) from `dir` (default models/sparse/). */
export async function loadSparseLm(name: string, dir: URL = SPARSE_LM_DIR): Promise<LoadedLm> {
  const { model } = shortLmModel();
  loadSparseCheckpoint(
    model.parameters(),
    await readOrExplain(new URL(`${name}.safetensors`, dir), name),
  );
  const card = JSON.parse(await Deno.readTextFile(new URL(`${name}.json`, dir)));
  return { name, model, card };
}

/** The names of the sparse-trained checkpoints committed in `dir`, sorted. */
export async function sparseLmNames(dir: URL = SPARSE_LM_DIR): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      if (e.name.endsWith(".safetensors")) names.push(e.name.slice(0, -".safetensors".length));
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return names.sort();
}

async function readOrExplain(file: URL, name: string): Promise<Uint8Array> {
  return await Deno.readFile(file).catch(() => {
    throw new Error(`${file.pathname} is missing: train it with 'deno task train ${name}'`);
  });
}

/** Whether a byte starts a UTF-8 character (is not a continuation byte). */
function startsChar(byte: number): boolean {
  return (byte & 0xc0) !== 0x80;
}

/** Each window's characters predicted. */
export function windowChars(windows: readonly LmWindow[], bytes: Uint8Array): number[] {
  return windows.map((w) => {
    let n = 0;
    for (let i = w.start + 1; i <= w.start + w.bytes; i++) if (startsChar(bytes[i])) n++;
    return n;
  });
}

/**
 * Bits per character of model A minus model B on the same windows, with a 95% paired bootstrap
 * interval (windows resampled whole, both models' bits with the window's characters). The text's
 * first byte, predicted by no window, is charged 8 bits in both.
 */
export function pairedBitsPerChar(
  a: readonly LmWindow[],
  b: readonly LmWindow[],
  bytes: Uint8Array,
): { difference: number; ci95: [number, number] } {
  if (a.length !== b.length || a.some((w, i) => w.start !== b[i].start)) {
    throw new RangeError("Cannot pair scores of different windows");
  }
  const chars = windowChars(a, bytes), ids = chars.map((_, i) => i);
  const firstChar = bytes.length > 0 && startsChar(bytes[0]) ? 1 : 0;
  const diff = (sample: readonly number[]) => {
    let x = 0, y = 0, c = firstChar;
    for (const k of sample) {
      x += a[k].bits;
      y += b[k].bits;
      c += chars[k];
    }
    return (x - y) / c;
  };
  return { difference: diff(ids), ci95: bootstrapInterval(ids, diff) };
}

/** Bits per character of scored windows (the first byte charged 8 bits), with its interval. */
export function bitsPerChar(
  windows: readonly LmWindow[],
  bytes: Uint8Array,
): { bitsPerChar: number; bitsPerCharCi95: [number, number] } {
  const chars = windowChars(windows, bytes);
  const firstChar = bytes.length > 0 && startsChar(bytes[0]) ? 1 : 0;
  const bits = windows.reduce((s, w) => s + w.bits, 8);
  return {
    bitsPerChar: bits / chars.reduce((s, c) => s + c, firstChar),
    bitsPerCharCi95: lmIntervals(windows, bytes).bitsPerChar,
  };
}

/** Bits per byte of the fixed slice (the test re-scores it). */
export function scoreSparseLmSlice(model: Gpt, sotuTest: Uint8Array): number {
  return scoreWindows(model, sotuTest, { limit: SPARSE_LM_SLICE_BYTES }).bitsPerByte;
}

/** Share of the sparse layers' weights kept. */
export function sparseLayerDensity(model: Gpt): number {
  const layers = sparseLmLayers(model);
  let kept = 0, all = 0;
  for (const l of layers) {
    kept += l.weight.size * l.weight.density();
    all += l.weight.size;
  }
  return kept / all;
}

export interface SparseLmEvalResult {
  budget: string;
  bytesPerText: number;
  slice: { text: string; bytes: number; rows: { model: string; bitsPerByte: number }[] };
  rows: {
    model: string;
    text: string;
    density: number;
    bitsPerChar: number;
    bitsPerCharCi95: [number, number];
  }[];
  pairs: {
    model: string;
    baseline: string;
    text: string;
    difference: number;
    ci95: [number, number];
  }[];
  /** The baseline's bits per window, by text (so a model added later pairs without re-scoring it). */
  baselineWindowBits: Record<string, number[]>;
  training: {
    model: string;
    steps: number;
    wallMinutes: number;
    cpuMinutes: number;
    flopsRatio: number | null;
    totalFlopsRatio: number | null;
    loadAverage: unknown;
  }[];
}

/**
 * Scores the dense baseline and every sparse-trained model on both texts; given an earlier
 * result (`previous`), scores only the models it lacks and pairs them with its stored baseline.
 */
export async function evaluateSparseLms(
  options: { bytes?: number; log?: (line: string) => void; previous?: SparseLmEvalResult } = {},
): Promise<SparseLmEvalResult> {
  const previous = options.previous;
  const limit = previous?.bytesPerText ?? options.bytes ?? 65536;
  const log = options.log ?? console.log;
  const dense = await loadDense400();
  const done = new Set(previous?.slice.rows.map((r) => r.model) ?? []);
  const models = [
    dense,
    ...await Promise.all(
      (await sparseLmNames()).filter((n) => !done.has(n)).map((n) => loadSparseLm(n)),
    ),
  ];
  const speeches = await loadSotuSpeeches();
  const sotuTest = sotuSplitBytes(speeches, "test");
  const texts = [
    { name: "sotu-test", bytes: sotuTest.subarray(0, limit) },
    { name: "moby-dick", bytes: (await loadMobyDick()).bytes.subarray(0, limit) },
  ];
  const rows: SparseLmEvalResult["rows"] = [], pairs: SparseLmEvalResult["pairs"] = [];
  const baselineWindowBits: Record<string, number[]> = {};
  for (const text of texts) {
    const stored = previous?.baselineWindowBits[text.name];
    const scored = models.map((m, i) => {
      if (i === 0 && stored) {
        // The baseline's windows as scored before (the same text and length: the same windows).
        return scoreWindowsShape(text.bytes, m.model.config.context).map((w, k) => ({
          ...w,
          bits: stored[k],
        }));
      }
      const started = performance.now();
      const windows = scoreWindows(m.model, text.bytes).windows;
      const row = {
        model: m.name,
        text: text.name,
        density: sparseLayerDensity(m.model),
        ...bitsPerChar(windows, text.bytes),
      };
      rows.push(row);
      log(
        `${text.name} ${m.name}: ${row.bitsPerChar.toFixed(4)} bits/char [${
          row.bitsPerCharCi95.map((v) => v.toFixed(4)).join("–")
        }] (${((performance.now() - started) / 1000).toFixed(0)} s)`,
      );
      return windows;
    });
    baselineWindowBits[text.name] = scored[0].map((w) => w.bits);
    for (let i = 1; i < models.length; i++) {
      pairs.push({
        model: models[i].name,
        baseline: models[0].name,
        text: text.name,
        ...pairedBitsPerChar(scored[i], scored[0], text.bytes),
      });
    }
  }
  const training = (previous ? models.slice(1) : models).map((m) => {
    const c = m.card as {
      recipe: { steps: number };
      trainMinutes?: number;
      trainCpuMinutes?: number;
      loadAverage?: unknown;
      training?: {
        steps: number;
        wallMinutes: number;
        cpuMinutes: number;
        flops: { total: number };
        denseFlops: number;
        totalFlopsRatio: number;
        loadAverage: unknown;
      };
    };
    const t = c.training;
    return t
      ? {
        model: m.name,
        steps: t.steps,
        wallMinutes: t.wallMinutes,
        cpuMinutes: t.cpuMinutes,
        flopsRatio: t.flops.total / t.denseFlops,
        totalFlopsRatio: t.totalFlopsRatio,
        loadAverage: t.loadAverage,
      }
      : {
        model: m.name,
        steps: c.recipe.steps,
        wallMinutes: c.trainMinutes ?? NaN,
        cpuMinutes: c.trainCpuMinutes ?? NaN,
        flopsRatio: 1,
        totalFlopsRatio: 1,
        loadAverage: c.loadAverage,
      };
  });
  const slice = {
    text: "sotu-test",
    bytes: SPARSE_LM_SLICE_BYTES,
    rows: (previous ? models.slice(1) : models).map((m) => ({
      model: m.name,
      bitsPerByte: scoreSparseLmSlice(m.model, sotuTest),
    })),
  };
  if (!previous) {
    return {
      budget: SPARSE_LM_BUDGET_TEXT,
      bytesPerText: limit,
      slice,
      rows,
      pairs,
      baselineWindowBits,
      training,
    };
  }
  return {
    ...previous,
    slice: { ...previous.slice, rows: [...previous.slice.rows, ...slice.rows] },
    rows: [...previous.rows, ...rows.filter((r) => r.model !== dense.name)],
    pairs: [...previous.pairs, ...pairs],
    training: [...previous.training, ...training],
  };
}

/** The windows {@link scoreWindows} scores on `bytes` (starts and lengths), in text order. */
function scoreWindowsShape(bytes: Uint8Array, context: number): LmWindow[] {
  const out: LmWindow[] = [];
  for (let s = 0; s + 1 < bytes.length; s += context) {
    out.push({ start: s, bytes: Math.min(context, bytes.length - s - 1), bits: 0 });
  }
  return out;
}

if (import.meta.main) {
  const i = Deno.args.indexOf("--bytes");
  const bytes = i >= 0 ? Number(Deno.args[i + 1]) : 65536;
  if (!Number.isInteger(bytes) || bytes < 1024) {
    console.error(`--bytes must be an integer ≥ 1024: got '${Deno.args[i + 1]}'`);
    Deno.exit(2);
  }
  try {
    const file = new URL("./sparse_lm_eval.json", import.meta.url);
    // --add: score only the checkpoints the committed result lacks.
    const previous = Deno.args.includes("--add")
      ? JSON.parse(await Deno.readTextFile(file)) as SparseLmEvalResult
      : undefined;
    const result = await evaluateSparseLms({ bytes, previous });
    await Deno.writeTextFile(file, JSON.stringify(result, null, 2) + "\n");
    console.log(`wrote ${file.pathname}`);
  } catch (e) {
    console.error(e instanceof Error ? e.message : String(e));
    Deno.exit(1);
  }
}
