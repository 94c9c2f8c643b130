// Sparse checkpoints: safetensors files in which a masked weight is stored as its kept values
// (`<name>.values`, F32, in row-major order of the kept positions) and its mask as bits
// (`<name>.mask_bits`, U8, bit i of the weight at byte i >> 3, least significant bit first), so a
// 90%-sparse 784-300-100-10 MLP takes ~140 KB instead of 2 MB with a float mask. Unmasked
// parameters are stored whole as F32. Any safetensors reader opens the file.
import type { Param } from "../../nn/param.ts";

/** The format name a sparse checkpoint's metadata carries (`format`). */
export const SPARSE_CHECKPOINT_FORMAT = "sparsebench-sparse-v1";

interface RawTensor {
  name: string;
  dtype: "F32" | "U8";
  shape: readonly number[];
  bytes: Uint8Array;
}

function f32Bytes(data: Float32Array): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** A mask's bits, LSB first: bit i is entry i's "kept". */
export function packMask(mask: Float32Array): Uint8Array {
  const bits = new Uint8Array(Math.ceil(mask.length / 8));
  for (let i = 0; i < mask.length; i++) if (mask[i] !== 0) bits[i >> 3] |= 1 << (i & 7);
  return bits;
}

/** The mask of `size` entries that {@link packMask} packed. */
export function unpackMask(bits: Uint8Array, size: number): Float32Array {
  const mask = new Float32Array(size);
  for (let i = 0; i < size; i++) mask[i] = (bits[i >> 3] >> (i & 7)) & 1;
  return mask;
}

/**
 * Encodes parameters as a sparse checkpoint; a masked parameter's pruned entries must be zero
 * (a hard mask), since only the kept ones are stored.
 *
 * @param params the model's parameters
 * @param metadata string metadata (the format name is added)
 * @returns safetensors bytes
 * @throws {RangeError} when a masked parameter holds a nonzero pruned entry
 */
export function encodeSparseCheckpoint(
  params: readonly Param[],
  metadata: Record<string, string> = {},
): Uint8Array {
  const tensors: RawTensor[] = [];
  for (const p of params) {
    const mask = p.mask;
    if (!mask) {
      tensors.push({ name: p.name, dtype: "F32", shape: p.shape, bytes: f32Bytes(p.data) });
      continue;
    }
    const values: number[] = [];
    for (let i = 0; i < mask.length; i++) {
      if (mask[i] !== 0) values.push(p.data[i]);
      else if (p.data[i] !== 0) {
        throw new RangeError(
          `Cannot store '${p.name}' sparsely: entry ${i} is pruned but holds ${p.data[i]}`,
        );
      }
    }
    tensors.push({
      name: `${p.name}.values`,
      dtype: "F32",
      shape: [values.length],
      bytes: f32Bytes(Float32Array.from(values)),
    });
    const bits = packMask(mask);
    tensors.push({ name: `${p.name}.mask_bits`, dtype: "U8", shape: [bits.length], bytes: bits });
  }
  const header: Record<string, unknown> = {
    __metadata__: { ...metadata, format: SPARSE_CHECKPOINT_FORMAT },
  };
  let offset = 0;
  for (const t of tensors) {
    header[t.name] = {
      dtype: t.dtype,
      shape: t.shape,
      data_offsets: [offset, offset + t.bytes.length],
    };
    offset += t.bytes.length;
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - (json.length % 8)) % 8);
  const head = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + head.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  let at = 8 + head.length;
  for (const t of tensors) {
    out.set(t.bytes, at);
    at += t.bytes.length;
  }
  return out;
}

/**
 * Loads a sparse checkpoint into `params` (hard masks set where it stores them).
 *
 * @param params the model's parameters, shapes as the checkpoint's
 * @param bytes the file
 * @returns its metadata
 * @throws {Error} when the file is not a sparse checkpoint, misses a parameter, has one of
 *   another size, or holds tensors the model lacks
 */
export function loadSparseCheckpoint(
  params: readonly Param[],
  bytes: Uint8Array,
): Record<string, string> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const length = Number(view.getBigUint64(0, true));
  if (8 + length > bytes.length) {
    throw new Error(`safetensors header of ${length} bytes runs past the file`);
  }
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + length)));
  const metadata = (header.__metadata__ ?? {}) as Record<string, string>;
  if (metadata.format !== SPARSE_CHECKPOINT_FORMAT) {
    throw new Error(
      `not a sparse checkpoint: format '${metadata.format}', expected '${SPARSE_CHECKPOINT_FORMAT}'`,
    );
  }
  const base = 8 + length, used = new Set<string>(["__metadata__"]);
  const tensor = (name: string) => {
    const info = header[name] as { dtype: string; data_offsets: [number, number] } | undefined;
    if (!info) return null;
    used.add(name);
    const copy = bytes.slice(base + info.data_offsets[0], base + info.data_offsets[1]);
    return info.dtype === "F32" ? new Float32Array(copy.buffer) : copy;
  };
  for (const p of params) {
    const dense = tensor(p.name);
    if (dense) {
      if (dense.length !== p.size) {
        throw new Error(`checkpoint '${p.name}' holds ${dense.length} values, the model ${p.size}`);
      }
      p.data.set(dense);
      p.setMask(null);
      continue;
    }
    const values = tensor(`${p.name}.values`), bits = tensor(`${p.name}.mask_bits`);
    if (!(values instanceof Float32Array) || !(bits instanceof Uint8Array)) {
      throw new Error(`checkpoint has no tensor '${p.name}' (dense, or .values with .mask_bits)`);
    }
    if (bits.length !== Math.ceil(p.size / 8)) {
      throw new Error(
        `checkpoint mask of '${p.name}' has ${bits.length} bytes, the model needs ${
          Math.ceil(p.size / 8)
        }`,
      );
    }
    const mask = unpackMask(bits, p.size);
    let k = 0;
    p.data.fill(0);
    for (let i = 0; i < p.size; i++) if (mask[i] !== 0) p.data[i] = values[k++];
    if (k !== values.length) {
      throw new Error(
        `checkpoint '${p.name}' stores ${values.length} values for ${k} kept weights`,
      );
    }
    p.setMask(mask);
  }
  const extra = Object.keys(header).filter((k) => !used.has(k));
  if (extra.length > 0) {
    throw new Error(`checkpoint holds tensors the model lacks: ${extra.join(", ")}`);
  }
  return metadata;
}
