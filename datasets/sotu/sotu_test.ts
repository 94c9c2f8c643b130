import { assert, assertEquals } from "../../tests/assert.ts";
import { loadMobyDick } from "./moby_dick.ts";
import { loadSotuSpeeches, sotuSplitBytes, sotuSplitOfYear } from "./sotu.ts";

Deno.test("sotuSplitOfYear() puts years ending in 0 in test and in 5 in validation", () => {
  assertEquals([1790, 1795, 1801, 2020, 2021].map(sotuSplitOfYear), [
    "test",
    "validation",
    "train",
    "test",
    "train",
  ]);
});

Deno.test("loadSotuSpeeches() reads all 233 pinned speeches and splits them by year", async () => {
  const speeches = await loadSotuSpeeches();
  assertEquals(speeches.length, 233);
  assertEquals(speeches[0].year, 1790);
  const sizes = (["train", "validation", "test"] as const).map((s) =>
    sotuSplitBytes(speeches, s).length
  );
  assertEquals(sizes, [8544614, 1238156, 979103]);
});

Deno.test("loadMobyDick() reads the pinned book", async () => {
  const { bytes, chars } = await loadMobyDick();
  assertEquals(bytes.length, 1204997);
  assert(chars > 1_000_000 && chars <= bytes.length);
});
