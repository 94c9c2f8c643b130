// Which tokens a check compares with the float64 reference: all of a small batch, evenly spaced
// ones (first and last included) of a batch whose reference would cost too much.
import { assert, assertEquals } from "../../../tests/assert.ts";
import { checkedTokens, pickTokens, REFERENCE_MAC_BUDGET } from "./mod.ts";

Deno.test("checkedTokens() takes every token within the budget, evenly spaced ones past it", () => {
  assertEquals(checkedTokens(10, 1), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  const picked = checkedTokens(65_536, REFERENCE_MAC_BUDGET / 64);
  assertEquals(picked.length, 64);
  assertEquals([picked[0], picked[63]], [0, 65_535]);
  for (let i = 1; i < picked.length; i++) assert(picked[i] > picked[i - 1]);
  assertEquals(checkedTokens(5, REFERENCE_MAC_BUDGET * 4).length, 2);
});

Deno.test("pickTokens() keeps the picked tokens' inputs, outputs and slots together", () => {
  const dim = 2, k = 2;
  const h = Float32Array.from({ length: 4 * dim }, (_, i) => i);
  const y = h.map((v) => -v);
  const routing = {
    tokens: 4,
    k,
    experts: Int32Array.from([0, 1, 1, -1, 0, 2, 2, 1]),
    weights: Float32Array.from([0.5, 0.5, 1, 0, 0.3, 0.7, 0.6, 0.4]),
    auxLoss: 0,
    probabilities: null,
  };
  const rows = pickTokens([1, 3], { h, y, routing, dim });
  assertEquals(Array.from(rows.h), [2, 3, 6, 7]);
  assertEquals(Array.from(rows.y), [-2, -3, -6, -7]);
  assertEquals(Array.from(rows.routing.experts), [1, -1, 2, 1]);
  assertEquals(Array.from(rows.routing.weights), [1, 0, Math.fround(0.6), Math.fround(0.4)]);
  assertEquals(rows.routing.tokens, 2);
});
