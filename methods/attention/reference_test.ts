import { assertAlmostEquals, assertEquals } from "../../tests/assert.ts";
import { attendRow, denseKeys, keyRange } from "./reference.ts";
import { windowBand } from "./sliding_window.ts";
import { slidingWindowAttention } from "./sliding_window.ts";
import { sinkWindowKeys } from "./sink_window.ts";
import { blockBudget } from "./block_topk_kernel.ts";

Deno.test("attendRow() computes softmax attention by hand on a 2-key example", () => {
  // d = 1, scale 1: scores q·k = 0 and ln 3 → weights 1/4, 3/4 → output 0.25·1 + 0.75·5 = 4.
  const inputs = {
    q: Float32Array.of(1, 1),
    k: Float32Array.of(0, Math.log(3)),
    v: Float32Array.of(1, 5),
  };
  const shape = { heads: 1, seq: 2, headDim: 1, causal: true };
  const r = attendRow(inputs, shape, 0, 1, denseKeys(shape, 1));
  assertAlmostEquals(r.weights[0], 0.25, 1e-6);
  assertAlmostEquals(r.out[0], 4, 1e-6);
  // Causal row 0 sees only key 0.
  assertEquals([...denseKeys(shape, 0)], [0]);
});

Deno.test("windowBand() keeps the last `window` keys when causal and centres them otherwise", () => {
  const causal = { heads: 1, seq: 10, headDim: 4, causal: true };
  assertEquals(windowBand(causal, 3, 5), [3, 5]);
  assertEquals(windowBand(causal, 3, 0), [0, 0]);
  const bidirectional = { ...causal, causal: false };
  assertEquals(windowBand(bidirectional, 4, 5), [3, 6]);
  assertEquals(windowBand(bidirectional, 4, 9), [7, 9]);
  assertEquals([...keyRange(3, 5)], [3, 4, 5]);
});

Deno.test("sliding window's nominal density counts the band's pairs", () => {
  // seq 4, causal, window 2: rows see 1, 2, 2, 2 keys = 7 of the 10 causal pairs.
  const shape = { heads: 1, seq: 4, headDim: 4, causal: true };
  assertAlmostEquals(slidingWindowAttention.impl.nominalDensity(shape, { window: 2 }), 0.7, 1e-12);
});

Deno.test("sinkWindowKeys() adds the sinks before the band without repeating keys", () => {
  const shape = { heads: 1, seq: 20, headDim: 4, causal: true };
  assertEquals([...sinkWindowKeys(shape, 3, 2, 10)], [0, 1, 8, 9, 10]);
  assertEquals([...sinkWindowKeys(shape, 3, 2, 2)], [0, 1, 2]);
  assertEquals([...sinkWindowKeys(shape, 3, 0, 10)], [8, 9, 10]);
});

Deno.test("blockBudget() keeps a rounded share of the visible blocks, at least one", () => {
  assertEquals(blockBudget(10, 0.1), 1);
  assertEquals(blockBudget(15, 0.1), 2);
  assertEquals(blockBudget(3, 0.01), 1);
  assertEquals(blockBudget(4, 1), 4);
});
