// Bits per byte of a byte-level LM on a text, over windows of the model's context that overlap by
// one byte, so every byte but the first is predicted exactly once, from the bytes before it in its
// window. The same windows can be scored by our engine or by any other (onnxruntime-web).
import type { Gpt } from "../../bench/nn/gpt.ts";
import { rowLosses } from "../../bench/nn/layers.ts";

export interface LmScore {
  /** Bytes predicted. */
  bytes: number;
  /** Total log-loss in bits over the predicted bytes. */
  bits: number;
  bitsPerByte: number;
}

/** One window of the model's context: where it starts, and the bits of the bytes it predicts. */
export interface LmWindow {
  /** Offset of its first byte (which it does not predict). */
  start: number;
  /** Bytes predicted: those at `start + 1 .. start + bytes`. */
  bytes: number;
  bits: number;
}

/** One batch of windows: ids and next-byte targets [rows × len], and where each row starts. */
interface WindowBatch {
  ids: Int32Array;
  targets: Int32Array;
  rows: number;
  len: number;
  starts: number[];
}

/** The windows of the first `limit` bytes, `batch` full windows at a time; a short last one alone. */
function* windowBatches(
  bytes: Uint8Array,
  context: number,
  batch: number,
  limit: number,
): Generator<WindowBatch> {
  const n = Math.min(bytes.length, limit), t = context;
  const starts: number[] = [];
  for (let s = 0; s + 1 < n; s += t) starts.push(s);
  for (let i = 0; i < starts.length; i += batch) {
    const group = starts.slice(i, i + batch);
    const full = group.filter((s) => s + t + 1 <= n);
    const partial = group.filter((s) => s + t + 1 > n);
    const lists: [number[], number][] = [
      [full, t],
      ...partial.map((s) => [[s], n - s - 1] as [number[], number]),
    ];
    for (const [list, len] of lists) {
      if (list.length === 0 || len <= 0) continue;
      const ids = new Int32Array(list.length * len), targets = new Int32Array(list.length * len);
      list.forEach((s, r) => {
        for (let j = 0; j < len; j++) {
          ids[r * len + j] = bytes[s + j];
          targets[r * len + j] = bytes[s + j + 1];
        }
      });
      yield { ids, targets, rows: list.length, len, starts: list };
    }
  }
}

function total(losses: Iterable<Float64Array>): LmScore {
  let nats = 0, count = 0;
  for (const l of losses) {
    for (const v of l) nats += v;
    count += l.length;
  }
  const bits = nats / Math.LN2;
  return { bytes: count, bits, bitsPerByte: bits / count };
}

/**
 * Scores `bytes` with our engine.
 *
 * @param options.limit score only the first `limit` bytes (a fixed slice, for fast tests)
 */
export function scoreBytes(
  model: Gpt,
  bytes: Uint8Array,
  options: { batch?: number; limit?: number } = {},
): LmScore {
  const { windows: _, ...score } = scoreWindows(model, bytes, options);
  return score;
}

/**
 * Scores `bytes` with our engine, also window by window (in text order): the units a bootstrap
 * interval of bits per byte resamples. The totals are exactly {@link scoreBytes}'s.
 *
 * @param options.limit score only the first `limit` bytes
 */
export function scoreWindows(
  model: Gpt,
  bytes: Uint8Array,
  options: { batch?: number; limit?: number } = {},
): LmScore & { windows: LmWindow[] } {
  const losses: Float64Array[] = [];
  const windows: LmWindow[] = [];
  for (
    const w of windowBatches(
      bytes,
      model.config.context,
      options.batch ?? 16,
      options.limit ?? bytes.length,
    )
  ) {
    const l = rowLosses(model.forward(w.ids, w.rows), w.targets);
    losses.push(l);
    for (let r = 0; r < w.rows; r++) {
      let nats = 0;
      for (let j = r * w.len; j < (r + 1) * w.len; j++) nats += l[j];
      windows.push({ start: w.starts[r], bytes: w.len, bits: nats / Math.LN2 });
    }
  }
  windows.sort((a, b) => a.start - b.start);
  return { ...total(losses), windows };
}

/** Scores the same windows with another engine's logits function (e.g. onnxruntime-web). */
export async function scoreBytesWith(
  logits: (ids: Int32Array, rows: number) => Promise<Float32Array>,
  context: number,
  bytes: Uint8Array,
  options: { batch?: number; limit?: number } = {},
): Promise<LmScore> {
  const losses: Float64Array[] = [];
  for (
    const w of windowBatches(bytes, context, options.batch ?? 16, options.limit ?? bytes.length)
  ) {
    losses.push(rowLosses(await logits(w.ids, w.rows), w.targets));
  }
  return total(losses);
}
