import { assertAlmostEquals } from "../../tests/assert.ts";
import { slidingWindowAttention } from "./sliding_window.ts";

Deno.test("sliding window's nominal density counts the band's pairs", () => {
  // seq 4, causal, window 2: rows see 1, 2, 2, 2 keys = 7 of the 10 causal pairs.
  const shape = { heads: 1, seq: 4, headDim: 4, causal: true };
  assertAlmostEquals(slidingWindowAttention.impl.nominalDensity(shape, { window: 2 }), 0.7, 1e-12);
});
