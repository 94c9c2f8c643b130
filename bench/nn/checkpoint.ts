// Model parameters to and from safetensors files: names and shapes must match exactly.
import type { Param } from "./param.ts";
import { decodeSafetensors, encodeSafetensors } from "./safetensors.ts";

/** Encodes parameters (and the masks of masked ones, as `<name>.mask`) with string metadata. */
export function encodeCheckpoint(
  params: readonly Param[],
  metadata: Record<string, string> = {},
): Uint8Array {
  const tensors = params.flatMap((p) => {
    const t = [{ name: p.name, shape: p.shape, data: p.data }];
    if (p.mask) t.push({ name: `${p.name}.mask`, shape: p.shape, data: p.mask });
    return t;
  });
  return encodeSafetensors(tensors, metadata);
}

/**
 * Loads a checkpoint into `params`, masks included.
 *
 * @returns the checkpoint's metadata
 * @throws {Error} when a parameter is missing or its shape differs, or the file holds extra tensors
 */
export function loadCheckpoint(
  params: readonly Param[],
  bytes: Uint8Array,
): Record<string, string> {
  const { tensors, metadata } = decodeSafetensors(bytes);
  const used = new Set<string>();
  for (const p of params) {
    const t = tensors.get(p.name);
    if (!t) throw new Error(`checkpoint has no tensor '${p.name}'`);
    if (t.shape.join("x") !== p.shape.join("x")) {
      throw new Error(
        `checkpoint tensor '${p.name}' is [${t.shape}], the model expects [${p.shape}]`,
      );
    }
    p.data.set(t.data);
    used.add(p.name);
    const mask = tensors.get(`${p.name}.mask`);
    p.setMask(mask ? mask.data : null);
    if (mask) used.add(mask.name);
  }
  const extra = [...tensors.keys()].filter((k) => !used.has(k));
  if (extra.length > 0) {
    throw new Error(`checkpoint holds tensors the model lacks: ${extra.join(", ")}`);
  }
  return metadata;
}
