import { assertEquals } from "../../tests/assert.ts";
import { AdapterNet } from "../../bench/families/moe/mod.ts";
import { featureFlops, stepFlops } from "./train_adapter.ts";

// A 5-4-3 backbone, bottleneck 2, 2 classes: fc1 20 weights, fc2 12, adapters 8+8 and 6+6, head 6.
const net = new AdapterNet({ backbone: [5, 4, 3], bottleneck: 2, classes: 2 });

Deno.test("stepFlops() counts the products each scope's step needs (hand-worked)", () => {
  // head only, 10 rows: fc2 forward 2·10·12; head forward and ∂W 2·10·6 each, no ∂x
  assertEquals(stepFlops(net, "head", 10, []), {
    forward: 240 + 120,
    backwardInput: 0,
    backwardWeight: 120,
  });
  // adapters with modules of 3, 4, 2, 1 active entries: adapter 1's down projection needs no ∂x
  assertEquals(stepFlops(net, "adapter", 10, [3, 4, 2, 1]), {
    forward: 240 + 20 * (3 + 4 + 2 + 1) + 120,
    backwardInput: 240 + 20 * (4 + 2 + 1) + 120,
    backwardWeight: 20 * (3 + 4 + 2 + 1) + 120,
  });
  // everything: fc1 forward and ∂W (its input needs no gradient), fc2 and head all three
  assertEquals(stepFlops(net, "all", 10, []), {
    forward: 400 + 240 + 120,
    backwardInput: 240 + 120,
    backwardWeight: 400 + 240 + 120,
  });
  assertEquals(featureFlops(net, 10), 400);
});
