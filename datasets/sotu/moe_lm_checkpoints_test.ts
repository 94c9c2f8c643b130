// The committed sotu-moe-lm checkpoints match their cards: the same bytes, the slice figure
// re-scored exactly by the layers' own routers, and active parameters equal to the 400-step
// dense model's plus only the routers (k = 1) or the routers and one output bias per layer (k = 2).
import { assert, assertEquals } from "../../tests/assert.ts";
import { loadSotuSpeeches, sotuSplitBytes } from "./sotu.ts";
import { CARD_SLICE_BYTES, loadDense400, loadSotuMoeLm, scoreMoeLm } from "./moe_lm_eval.ts";
import {
  activeParameters,
  SOTU_MOE_DIR,
  SOTU_MOE_RECIPE,
  sotuMoeName,
} from "./train_sotu_moe_lm.ts";

for (const k of [1, 2]) {
  const card = await Deno.readTextFile(new URL(`${sotuMoeName(k)}.json`, SOTU_MOE_DIR)).then(
    JSON.parse,
    () => null,
  );
  Deno.test({
    name: `${sotuMoeName(k)} matches its card and re-scores its stored slice exactly`,
    ignore: card === null,
    async fn() {
      // loadSotuMoeLm checks the checkpoint's sha256 against the card.
      const m = await loadSotuMoeLm(k);
      const test = sotuSplitBytes(await loadSotuSpeeches(), "test");
      const s = scoreMoeLm(m.model, m.moe, test, CARD_SLICE_BYTES);
      assertEquals(s.bitsPerByte, card.slice.bitsPerByte);
      assertEquals(card.slice.bytes, CARD_SLICE_BYTES);
      // Every window's routing was tallied: 64 windows × 128 tokens in each layer.
      for (const t of s.routing) assertEquals(t.tokens, 64 * 128);
      const dense = (await loadDense400()).model.parameters().reduce((n, p) => n + p.size, 0);
      const { layers, dim } = SOTU_MOE_RECIPE.model, E = SOTU_MOE_RECIPE.experts;
      const active = activeParameters(m.model, m.moe);
      assertEquals(active, card.activeParameters);
      assertEquals(active - dense, layers * (E * dim + (k - 1) * dim));
      assert(card.budget.includes("400-step budget, not comparable to sotu-lm"));
      for (
        const key of ["trainMinutes", "trainCpuMinutes", "steps", "trainingFlops", "loadAverage"]
      ) {
        assert(key in card, `card lacks ${key}`);
      }
    },
  });
}
