// The committed sparse-trained byte LMs match their cards (checkpoint hash, realized density) and
// re-score sparse_lm_eval.json's fixed slice exactly; the paired difference is the plain one.
import { assertAlmostEquals, assertEquals, assertThrows } from "../../tests/assert.ts";
import { sha256Hex } from "../../bench/random.ts";
import type { LmWindow } from "./lm_eval.ts";
import {
  loadDense400,
  loadSparseLm,
  pairedBitsPerChar,
  scoreSparseLmSlice,
  type SparseLmEvalResult,
  sparseLmNames,
} from "./sparse_lm_eval.ts";
import { loadSotuSpeeches, sotuSplitBytes } from "./sotu.ts";
import { SPARSE_LM_DIR } from "./train_sotu_lm_sparse.ts";

const evaluated = await Deno.readTextFile(new URL("./sparse_lm_eval.json", import.meta.url)).then(
  (text) => JSON.parse(text) as SparseLmEvalResult,
  () => null,
);

Deno.test("pairedBitsPerChar() is A's bits per character minus B's over the same windows", () => {
  const bytes = new TextEncoder().encode("abcdefg");
  const a: LmWindow[] = [{ start: 0, bytes: 3, bits: 6 }, { start: 3, bytes: 3, bits: 3 }];
  const b: LmWindow[] = [{ start: 0, bytes: 3, bits: 3 }, { start: 3, bytes: 3, bits: 3 }];
  const { difference, ci95 } = pairedBitsPerChar(a, b, bytes);
  // (8 + 9 − 8 − 6) bits over 7 characters.
  assertAlmostEquals(difference, 3 / 7, 1e-12);
  assertEquals(ci95[0] <= difference && difference <= ci95[1], true);
  assertThrows(() => pairedBitsPerChar(a, b.slice(1), bytes), RangeError, "different windows");
});

Deno.test({
  name: "sparse-trained LMs match their cards and re-score sparse_lm_eval.json's slice exactly",
  ignore: evaluated === null,
  async fn() {
    const bytes = sotuSplitBytes(await loadSotuSpeeches(), "test");
    const dense = await loadDense400();
    const row = (name: string) => evaluated!.slice.rows.find((r) => r.model === name)!;
    assertAlmostEquals(scoreSparseLmSlice(dense.model, bytes), row(dense.name).bitsPerByte, 1e-9);
    for (const name of await sparseLmNames()) {
      const m = await loadSparseLm(name);
      const card = m.card as { checkpointSha256: string; density: Record<string, number> };
      const file = await Deno.readFile(new URL(`${name}.safetensors`, SPARSE_LM_DIR));
      assertEquals(await sha256Hex(file), card.checkpointSha256, name);
      for (const p of m.model.parameters()) {
        if (p.name in card.density) assertAlmostEquals(p.density(), card.density[p.name], 1e-12);
      }
      assertAlmostEquals(scoreSparseLmSlice(m.model, bytes), row(name).bitsPerByte, 1e-9);
    }
  },
});
