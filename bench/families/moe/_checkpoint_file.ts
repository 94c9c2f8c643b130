// Writes a trained MoE model's checkpoint the one way every MoE recipe does (the format tag the
// loaders check, the gate's id in the metadata) and returns the card fields that describe the file.
import { encodeCheckpoint } from "../../nn/checkpoint.ts";
import type { Param } from "../../nn/param.ts";
import { sha256Hex } from "../../random.ts";

/** The card fields that name and pin a checkpoint file, in the order the cards list them. */
export interface MoeCheckpointFields {
  checkpoint: string;
  checkpointSha256: string;
  checkpointBytes: number;
  parameters: number;
}

/** Encodes `params` as `<name>.safetensors` in `out` (created if missing). */
export async function writeMoeCheckpoint(
  out: URL,
  name: string,
  gateId: string,
  params: Param[],
): Promise<MoeCheckpointFields> {
  const bytes = encodeCheckpoint(params, {
    model: name,
    format: "sparsebench-moe-mlp-v1",
    gate: gateId,
  });
  await Deno.mkdir(out, { recursive: true });
  await Deno.writeFile(new URL(`${name}.safetensors`, out), bytes);
  return {
    checkpoint: `${name}.safetensors`,
    checkpointSha256: await sha256Hex(bytes),
    checkpointBytes: bytes.length,
    parameters: params.reduce((n, p) => n + p.size, 0),
  };
}
