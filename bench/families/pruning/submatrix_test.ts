import { assertEquals } from "../../../tests/assert.ts";
import { Linear } from "../../nn/layers.ts";
import { columnsRead, gatherSubmatrix, shrinkLayerWeights } from "./_submatrix.ts";

Deno.test("gatherSubmatrix() keeps W[rows, columns] in order, on an odd shape", () => {
  // 3 × 5, entry (r, c) = 10r + c.
  const w = Float32Array.from({ length: 15 }, (_, i) => 10 * Math.floor(i / 5) + (i % 5));
  assertEquals(Array.from(gatherSubmatrix(w, 5, [0, 2], [1, 3, 4])), [1, 3, 4, 21, 23, 24]);
  assertEquals(gatherSubmatrix(w, 5, [], [1]).length, 0);
});

Deno.test("columnsRead() marks the inputs some nonzero weight reads; shrinkLayerWeights() cuts bias too", () => {
  const layer = new Linear("l", 4, 2);
  layer.weight.data.set([0, 1, 0, 0, 0, 0, 0, 2]);
  assertEquals(Array.from(columnsRead(layer)), [0, 1, 0, 1]);
  layer.bias!.data.set([5, 6]);
  const cut = shrinkLayerWeights(layer, [1], [1, 3]);
  assertEquals(Array.from(cut.weight), [0, 2]);
  assertEquals(Array.from(cut.bias!), [6]);
});
