// Adds to a trained MoE LM's card what the `sotu-moe-lm` task reproduces: bits per byte on a fixed
// slice of the SOTU test years, and the routing figures of its MoE layers on the test years'
// first 512 windows (the card's own routing record; the task measures them on what it scores).
import { loadSotuSpeeches, sotuSplitBytes } from "./sotu.ts";
import { CARD_SLICE_BYTES, loadSotuMoeLm, routingFigures, scoreMoeLm } from "./moe_lm_eval.ts";
import { SOTU_MOE_DIR, sotuMoeName } from "./train_sotu_moe_lm.ts";

/** Bytes of the test years the card's routing figures cover: 512 windows of 128 and one. */
export const CARD_ROUTING_BYTES = 512 * 128 + 1;

/** Scores `sotu-moe-lm-e8-k<k>` in `dir` and writes the slice and routing figures into its card. */
export async function addMoeCardEvaluation(
  k: number,
  dir: URL = SOTU_MOE_DIR,
  log: (line: string) => void = console.log,
): Promise<Record<string, unknown>> {
  const m = await loadSotuMoeLm(k, dir);
  const test = sotuSplitBytes(await loadSotuSpeeches(), "test");
  const loadStart = Deno.loadavg();
  const start = performance.now();
  const slice = scoreMoeLm(m.model, m.moe, test, CARD_SLICE_BYTES);
  const routed = scoreMoeLm(m.model, m.moe, test, CARD_ROUTING_BYTES);
  const file = new URL(`${sotuMoeName(k)}.json`, dir);
  const card = JSON.parse(await Deno.readTextFile(file));
  card.slice = { text: "sotu-test", bytes: CARD_SLICE_BYTES, bitsPerByte: slice.bitsPerByte };
  card.testRouting = {
    text: "sotu-test",
    bytes: CARD_ROUTING_BYTES,
    bitsPerByte: routed.bitsPerByte,
    ...routingFigures(routed.routing),
    evalMinutes: (performance.now() - start) / 60000,
    loadAverage: { start: loadStart, end: Deno.loadavg() },
  };
  await Deno.writeTextFile(file, JSON.stringify(card, null, 2) + "\n");
  log(
    `${m.name}: slice ${slice.bitsPerByte.toFixed(4)} bits/byte; test routing load CV ${
      card.testRouting.load_cv.toFixed(3)
    }, MaxVio ${card.testRouting.max_vio.toFixed(3)}`,
  );
  return card;
}

if (import.meta.main) await addMoeCardEvaluation(Number(Deno.args[0]));
