// `deno run -A datasets/sotu/moe_lm_study.ts [--bytes N]`: the MoE byte LMs (k = 1, 2) and the
// 400-step dense model on the first N bytes (default 64 KiB + 1) of the SOTU test years and Moby
// Dick: bits per byte and per character with 95% bootstrap intervals over windows, the paired
// differences MoE − dense on the same windows, and the routing figures. Writes moe_lm_eval.json.
import { bootstrapInterval } from "../../bench/stats.ts";
import type { LmWindow } from "./lm_eval.ts";
import { loadMobyDick } from "./moby_dick.ts";
import { loadDense400, loadSotuMoeLm, routingFigures, scoreMoeLm } from "./moe_lm_eval.ts";
import { loadSotuSpeeches, sotuSplitBytes } from "./sotu.ts";
import { SOTU_MOE_KS } from "./train_sotu_moe_lm.ts";

const startsChar = (b: number) => (b & 0xc0) !== 0x80;

/** Characters each window predicts (the bytes after its first that start a UTF-8 character). */
function charsOf(windows: readonly LmWindow[], bytes: Uint8Array): number[] {
  return windows.map((w) => {
    let n = 0;
    for (let i = w.start + 1; i <= w.start + w.bytes; i++) if (startsChar(bytes[i])) n++;
    return n;
  });
}

/** Σ num / Σ den over windows, with its bootstrap interval. */
function ratio(num: number[], den: number[]): { value: number; ci95: [number, number] } {
  const ids = num.map((_, i) => i);
  const f = (s: readonly number[]) => {
    let a = 0, b = 0;
    for (const i of s) {
      a += num[i];
      b += den[i];
    }
    return a / b;
  };
  return { value: f(ids), ci95: bootstrapInterval(ids, f) };
}

if (import.meta.main) {
  const at = Deno.args.indexOf("--bytes");
  const limit = at >= 0 ? Number(Deno.args[at + 1]) : 65537;
  if (!Number.isInteger(limit) || limit < 257) {
    console.error(`--bytes must be an integer ≥ 257: got '${Deno.args[at + 1]}'`);
    Deno.exit(2);
  }
  const loadStart = Deno.loadavg(), start = performance.now();
  const texts = {
    "sotu-test": sotuSplitBytes(await loadSotuSpeeches(), "test"),
    "moby-dick": (await loadMobyDick()).bytes,
  };
  const dense = await loadDense400();
  const moe = await Promise.all(SOTU_MOE_KS.map((k) => loadSotuMoeLm(k)));
  const rows: Record<string, unknown>[] = [];
  for (const [text, all] of Object.entries(texts)) {
    const bytes = all.subarray(0, Math.min(limit, all.length));
    const d = scoreMoeLm(dense.model, [], bytes);
    const chars = charsOf(d.windows, bytes);
    const denseBits = d.windows.map((w) => w.bits);
    const row = (name: string, windows: LmWindow[], extra: Record<string, unknown>) => {
      const bits = windows.map((w) => w.bits), perByte = windows.map((w) => w.bytes);
      const delta = bits.map((b, i) => b - denseBits[i]);
      rows.push({
        model: name,
        text,
        bytes: bytes.length,
        bitsPerByte: ratio(bits, perByte),
        bitsPerChar: ratio(bits, chars),
        ...(name === dense.name ? {} : {
          diffVsDenseBitsPerByte: ratio(delta, perByte),
          diffVsDenseBitsPerChar: ratio(delta, chars),
        }),
        ...extra,
      });
      console.log(`${name} ${text}: ${JSON.stringify(rows.at(-1))}`);
    };
    row(dense.name, d.windows, {});
    for (const m of moe) {
      const s = scoreMoeLm(m.model, m.moe, bytes);
      row(m.name, s.windows, { routing: routingFigures(s.routing) });
    }
  }
  const out = {
    budget: "400-step budget, not comparable to sotu-lm",
    note:
      "bits per char here leave out the first byte (predicted by no window), so they differ from the task's bits_per_char (which charges it 8 bits) by < 1e-3 at 64 KiB",
    rows,
    evalMinutes: (performance.now() - start) / 60000,
    loadAverage: { start: loadStart, end: Deno.loadavg() },
  };
  const file = new URL("./moe_lm_eval.json", import.meta.url);
  await Deno.writeTextFile(file, JSON.stringify(out, null, 2) + "\n");
  console.log(`wrote ${file.pathname}`);
}
