// Loads the committed sotu-lm checkpoint (verified against its card).
import { loadCheckpoint } from "../../bench/nn/checkpoint.ts";
import { Gpt, type GptConfig } from "../../bench/nn/gpt.ts";
import { type ModelCard, readCheckpoint } from "../mnist/reference_mlp.ts";

export const SOTU_LM_MODELS = new URL("./models/", import.meta.url);

/** The reference byte-level GPT with its weights loaded. */
export async function loadReferenceLm(): Promise<{ model: Gpt; card: ModelCard }> {
  const { card, bytes } = await readCheckpoint(SOTU_LM_MODELS, "sotu-lm");
  const model = new Gpt(card.recipe.model as GptConfig);
  loadCheckpoint(model.parameters(), bytes);
  return { model, card };
}
