import { assert, assertEquals, assertThrows } from "../../tests/assert.ts";
import { cardMetric, compareMetric, REPRODUCTION_TOLERANCE } from "./compare.ts";

Deno.test("compareMetric() passes an exact reproduction", () => {
  const r = compareMetric("testAccuracy", { committed: 0.9652, retrained: 0.9652 });
  assert(r.passed);
  assertEquals(r.difference, 0);
  assertEquals(r.message, "");
});

Deno.test("compareMetric() passes within the tolerance and fails beyond it", () => {
  const committed = 0.9652;
  assert(compareMetric("testAccuracy", { committed, retrained: committed + 0.0015 }).passed);
  const off = compareMetric("testAccuracy", {
    committed,
    retrained: committed - 2 * REPRODUCTION_TOLERANCE,
  });
  assert(!off.passed);
  assert(off.message.includes("did not reproduce"), off.message);
  assert(!compareMetric("testAri", { committed: 0.5, retrained: 0.5001 }, 0).passed);
});

Deno.test("compareMetric() fails a non-finite re-trained value", () => {
  assert(!compareMetric("testAccuracy", { committed: 0.9, retrained: NaN }).passed);
});

Deno.test("cardMetric() reads accuracy or ARI and refuses a card with neither", () => {
  assertEquals(cardMetric({ metrics: { testAccuracy: 0.9 } }), {
    metric: "testAccuracy",
    value: 0.9,
  });
  assertEquals(cardMetric({ metrics: { testMse: 0.2, testAri: 0.3 } }).metric, "testAri");
  assertThrows(() => cardMetric({ metrics: { loss: 1 } }), Error, "found loss");
});
