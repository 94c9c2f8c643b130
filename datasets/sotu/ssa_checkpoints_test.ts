// The committed sotu-lm-short checkpoints match their cards and re-score ssa_eval.json's fixed slice.
import { assertAlmostEquals, assertEquals } from "../../tests/assert.ts";
import { sha256Hex } from "../../bench/random.ts";
import { loadShortModels, scoreSlice, type SsaEvalResult } from "./ssa_eval.ts";
import { loadSotuSpeeches, sotuSplitBytes } from "./sotu.ts";
import { SOTU_LM_DIR } from "./train_sotu_lm.ts";

const evaluated = await Deno.readTextFile(new URL("./ssa_eval.json", import.meta.url)).then(
  (text) => JSON.parse(text) as SsaEvalResult,
  () => null,
);

Deno.test({
  name: "sotu-lm-short checkpoints match their cards and re-score ssa_eval.json's slice exactly",
  ignore: evaluated === null,
  async fn() {
    const models = await loadShortModels();
    const bytes = sotuSplitBytes(await loadSotuSpeeches(), "test");
    assertEquals(evaluated!.slice.text, "sotu-test");
    for (const m of models) {
      const card = JSON.parse(await Deno.readTextFile(new URL(`${m.name}.json`, SOTU_LM_DIR)));
      const file = await Deno.readFile(new URL(`${m.name}.safetensors`, SOTU_LM_DIR));
      assertEquals(await sha256Hex(file), card.checkpointSha256, m.name);
      for (const path of ["full", "sparse"] as const) {
        const row = evaluated!.slice.rows.find((r) =>
          r.model === m.name && (r.mode === "full") === (path === "full")
        )!;
        assertAlmostEquals(scoreSlice(m, bytes, path), row.bitsPerByte, 1e-9);
      }
    }
  },
});
