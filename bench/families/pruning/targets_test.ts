import { assertEquals, assertThrows } from "../../../tests/assert.ts";
import { globalMasks, layerMask, parseTarget, rowMask } from "./mod.ts";

Deno.test("parseTarget() reads sparsities and N:M patterns and refuses the rest", () => {
  assertEquals(parseTarget("95%"), { pattern: "unstructured", sparsity: 0.95 });
  assertEquals(parseTarget("4:8"), { pattern: "n:m", n: 4, m: 8 });
  for (const bad of ["100%", "5:4", "0:4", "half", "70"]) {
    assertThrows(() => parseTarget(bad), RangeError, "prune target");
  }
});

Deno.test("rowMask() keeps the top scores of every row, ties to the lower index", () => {
  // 2 rows × 5 inputs; 60% sparsity keeps round(5 · 0.4) = 2 per row.
  const scores = [5, 1, 3, 3, 0, 0, 9, 9, 9, 1];
  const mask = rowMask({ scores, rows: 2, cols: 5 }, { pattern: "unstructured", sparsity: 0.6 });
  assertEquals([...mask], [1, 0, 1, 0, 0, 0, 1, 1, 0, 0]);
});

Deno.test("rowMask() keeps N of every M inputs per row, a short last group included", () => {
  // 1 row × 6 inputs, 2:4: groups [0..3] and the short [4, 5], which keeps at most 2.
  const scores = [1, 4, 2, 3, 7, 6];
  const mask = rowMask({ scores, rows: 1, cols: 6 }, { pattern: "n:m", n: 2, m: 4 });
  assertEquals([...mask], [0, 1, 0, 1, 1, 1]);
  const one = rowMask({ scores, rows: 1, cols: 6 }, { pattern: "n:m", n: 1, m: 4 });
  assertEquals([...one], [0, 1, 0, 0, 1, 0]);
});

Deno.test("layerMask() and globalMasks() compare over a layer and over layers", () => {
  const a = { scores: [1, 2, 3, 4], rows: 2, cols: 2 };
  const b = { scores: [10, 0.5], rows: 1, cols: 2 };
  assertEquals([...layerMask(a, 0.5)], [0, 0, 1, 1]);
  // 6 weights at 50%: the 3 largest overall are 10, 4 and 3.
  const [ma, mb] = globalMasks([a, b], 0.5);
  assertEquals([...ma, ...mb], [0, 0, 1, 1, 1, 0]);
});
