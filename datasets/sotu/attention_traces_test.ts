import { assert, assertEquals, assertThrows } from "../../tests/assert.ts";
import { attendRow, denseKeys } from "../../bench/families/attention/mod.ts";
import { loadReferenceLm } from "./reference_lm.ts";
import { captureTraces, traceShape, windowStarts } from "./attention_traces.ts";

Deno.test("captureTraces(): dense attention over the captured q, k, v is the model's attention", async () => {
  const { model } = await loadReferenceLm();
  const { context: t, dim, heads, layers } = model.config;
  const text = new TextEncoder().encode(
    "Fellow-Citizens of the Senate and of the House of Representatives: the state of the Union is strong, and the work before us is great. "
      .repeat(3),
  );
  const windows = [text.subarray(0, t), text.subarray(7, 7 + t)];
  const shape = traceShape(model, windows.length);
  assertEquals(shape, { heads: 2 * layers * heads, seq: t, headDim: dim / heads, causal: true });
  const traces = captureTraces(model, windows);
  // The model's own attention output (after its projection) of window 1, at every layer.
  const ids = new Int32Array(windows[1]);
  const expected: Float32Array[] = [];
  const blockInputs: Float32Array[] = [];
  model.forwardFrom(ids, 1, {
    blockInput(layer, input) {
      if (layer >= layers) return;
      blockInputs[layer] = Float32Array.from(input);
      const block = model.blocks[layer];
      expected[layer] = block.attn.forward(block.ln1.forward(input, t), 1, t);
    },
  });
  const hd = dim / heads;
  let worst = 0;
  for (let layer = 0; layer < layers; layer++) {
    const att = new Float32Array(t * dim);
    for (let h = 0; h < heads; h++) {
      const head = (1 * layers + layer) * heads + h;
      for (let row = 0; row < t; row++) {
        const { out } = attendRow(shape, traces, { head, row, keys: denseKeys(shape, row) });
        att.set(Float32Array.from(out), row * dim + h * hd);
      }
    }
    const got = model.blocks[layer].attn.proj.forward(att, t);
    for (let i = 0; i < got.length; i++) {
      worst = Math.max(
        worst,
        Math.abs(got[i] - expected[layer][i]) / (1e-3 + Math.abs(expected[layer][i])),
      );
    }
  }
  assert(worst < 1e-3, `worst relative difference ${worst}`);
});

Deno.test("windowStarts() draws distinct, ascending, seeded windows and refuses too short a text", () => {
  const bytes = new Uint8Array(1000);
  const a = windowStarts(bytes, { count: 20, length: 128, seed: 3 });
  assertEquals(a, windowStarts(bytes, { count: 20, length: 128, seed: 3 }));
  assertEquals(new Set(a).size, 20);
  assert(a.every((s, i) => s >= 0 && s + 128 <= 1000 && (i === 0 || s > a[i - 1])));
  assert(a.join() !== windowStarts(bytes, { count: 20, length: 128, seed: 4 }).join());
  assertThrows(
    () => windowStarts(new Uint8Array(130), { count: 4, length: 128, seed: 1 }),
    RangeError,
  );
});
