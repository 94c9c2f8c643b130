// Loads a committed sparse-training checkpoint (`<model>-<recipe>.safetensors` beside its card),
// checked against the card's sha256, into an MLP of the card's sizes, masks included.
import { loadSparseCheckpoint, type TrainedCard } from "../../bench/families/pruning/mod.ts";
import { Mlp } from "../../bench/nn/mlp.ts";
import { SkipCase } from "../../bench/plugin.ts";
import { readCheckpoint } from "./reference_mlp.ts";
import { fileSource } from "../file_source.ts";

/**
 * The MLP a sparse-training recipe trained, with its card.
 *
 * @param dir the models folder
 * @param name `<model>-<recipe>`, e.g. "mnist-mlp-rigl-erk-s90-w1"
 * @returns the model (weights and hard masks loaded) and its card
 * @throws {SkipCase} when no card is committed under that name (the cell is skipped with the
 *   command that trains it)
 * @throws {Error} when the checkpoint's sha256 differs from the card's or its tensors do not fit
 */
export async function loadTrainedMlp(
  dir: URL,
  name: string,
): Promise<{ model: Mlp; card: TrainedCard }> {
  const found = await fileSource().exists(new URL(`${name}.json`, dir));
  if (!found) {
    throw new SkipCase(
      `no sparse-training checkpoint '${name}' committed: \`deno task train\` lists the recipes there are (\`deno task train ${name}\` where one is listed)`,
    );
  }
  const { card, bytes } = await readCheckpoint(dir, name);
  const trained = card as unknown as TrainedCard;
  const model = new Mlp(trained.sizes);
  loadSparseCheckpoint(model.parameters(), bytes);
  return { model, card: trained };
}
