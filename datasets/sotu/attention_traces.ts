// Real attention inputs: q, k and v of every layer and head of the committed sotu-lm, captured on
// 128-byte windows of SOTU text (the model's full context), folded into one attention input of
// windows × layers × heads slices, for the attention family's trace task.
import type { AttentionInputs, AttentionShape } from "../../bench/families/attention/mod.ts";
import type { Gpt } from "../../bench/nn/gpt.ts";
import { mulberry32 } from "../../bench/random.ts";

/**
 * The shape of `windows` windows of `model` folded into heads: slice (w·layers + l)·heads + h is
 * head h of layer l on window w; seq is the model's context, causal, as the model attends.
 */
export function traceShape(model: Gpt, windows: number): AttentionShape {
  const { context, dim, heads, layers } = model.config;
  return { heads: windows * layers * heads, seq: context, headDim: dim / heads, causal: true };
}

/**
 * Start offsets of `count` windows of `length` bytes in `bytes`, drawn uniformly from `seed`
 * (mulberry32), distinct and ascending.
 *
 * @throws {RangeError} when the text holds fewer than `count` distinct windows
 */
export function windowStarts(
  bytes: Uint8Array,
  options: { count: number; length: number; seed: number },
): number[] {
  const { count, length, seed } = options;
  const span = bytes.length - length + 1;
  if (span < count) {
    throw new RangeError(
      `Cannot take ${count} windows of ${length} bytes from ${bytes.length} bytes of text`,
    );
  }
  const uniform = mulberry32(seed);
  const starts = new Set<number>();
  while (starts.size < count) starts.add(Math.floor(uniform() * span));
  return [...starts].sort((a, b) => a - b);
}

/**
 * Runs `model` on each window (one batch row each) and captures what every layer's attention
 * sees: q, k and v of each head, from the fused qkv projection of the block's normalised input.
 *
 * @param model the trained byte-level GPT
 * @param windows byte windows, each exactly the model's context long
 * @returns q, k, v in the layout of {@link traceShape}
 * @throws {RangeError} when a window is not the model's context long
 */
export function captureTraces(model: Gpt, windows: readonly Uint8Array[]): AttentionInputs {
  const { context: t, dim, heads, layers } = model.config;
  const hd = dim / heads;
  for (const w of windows) {
    if (w.length !== t) {
      throw new RangeError(`Cannot trace a ${w.length}-byte window: sotu-lm reads ${t} bytes`);
    }
  }
  const shape = traceShape(model, windows.length);
  const n = shape.heads * t * hd;
  const out: AttentionInputs = {
    q: new Float32Array(n),
    k: new Float32Array(n),
    v: new Float32Array(n),
  };
  const ids = new Int32Array(windows.length * t);
  windows.forEach((w, b) => ids.set(w, b * t));
  model.forwardFrom(ids, windows.length, {
    blockInput(layer, input) {
      if (layer >= layers) return;
      // What the block's attention projects: its pre-norm input, then the fused qkv.
      const block = model.blocks[layer];
      const qkv = block.attn.qkv.forward(block.ln1.forward(input, ids.length), ids.length);
      for (let b = 0; b < windows.length; b++) {
        for (let h = 0; h < heads; h++) {
          const slice = (b * layers + layer) * heads + h;
          for (let row = 0; row < t; row++) {
            const from = (b * t + row) * 3 * dim + h * hd;
            const to = (slice * t + row) * hd;
            out.q.set(qkv.subarray(from, from + hd), to);
            out.k.set(qkv.subarray(from + dim, from + dim + hd), to);
            out.v.set(qkv.subarray(from + 2 * dim, from + 2 * dim + hd), to);
          }
        }
      }
    },
  });
  return out;
}
