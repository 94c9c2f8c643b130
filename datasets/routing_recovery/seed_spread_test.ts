// The seed study's t-interval on hand-worked values.
import { assert, assertThrows } from "../../tests/assert.ts";
import { tInterval } from "./seed_spread.ts";

Deno.test("tInterval() is mean ± t₀.₉₇₅(n−1)·s/√n", () => {
  // [1, 2, 3]: mean 2, s = 1, t(2) = 4.303: half-width 4.303/√3 = 2.48434…
  const { mean, low, high } = tInterval([1, 2, 3]);
  assert(mean === 2);
  assert(
    Math.abs(high - 2 - 4.303 / Math.sqrt(3)) < 1e-12 && Math.abs(2 - low - (high - 2)) < 1e-12,
  );
  // Equal values: no spread.
  const flat = tInterval([0.5, 0.5, 0.5, 0.5]);
  assert(flat.low === 0.5 && flat.high === 0.5);
  assertThrows(() => tInterval([1]), RangeError);
});
