// Loads a committed reference MLP (`<name>.safetensors` beside its `<name>.json` card), checking
// the checkpoint's sha256 against the card.
import { loadCheckpoint } from "../../bench/nn/checkpoint.ts";
import { Mlp } from "../../bench/nn/mlp.ts";
import { sha256Hex } from "../../bench/random.ts";
import { fileSource, FileSourceError } from "../file_source.ts";

/** The card written beside a checkpoint by the training recipe. */
export interface ModelCard {
  name: string;
  checkpoint: string;
  checkpointSha256: string;
  metrics: Record<string, unknown>;
  recipe: Record<string, unknown>;
}

/** Reads a card and its checkpoint bytes, verified. */
export async function readCheckpoint(
  dir: URL,
  name: string,
): Promise<{ card: ModelCard; bytes: Uint8Array }> {
  let card: ModelCard;
  try {
    const text = new TextDecoder().decode(
      await fileSource().readFile(new URL(`${name}.json`, dir)),
    );
    card = JSON.parse(text);
  } catch (error) {
    if (error instanceof FileSourceError) throw error;
    throw new Error(
      `reference model '${name}' has no card at ${new URL(`${name}.json`, dir).pathname} (${
        (error as Error).message
      }): train it with \`deno task train ${name}\``,
    );
  }
  const bytes = await fileSource().readFile(new URL(card.checkpoint, dir));
  const sha = await sha256Hex(bytes);
  if (sha !== card.checkpointSha256) {
    throw new Error(`${card.checkpoint} has sha256 ${sha}, its card says ${card.checkpointSha256}`);
  }
  return { card, bytes };
}

/** A reference MLP with its weights loaded. */
export async function loadReferenceMlp(
  dir: URL,
  name: string,
): Promise<{ model: Mlp; card: ModelCard; sha256: string }> {
  const { card, bytes } = await readCheckpoint(dir, name);
  const model = new Mlp(card.recipe.sizes as number[]);
  loadCheckpoint(model.parameters(), bytes);
  return { model, card, sha256: card.checkpointSha256 };
}
