// Reads and writes safetensors (https://github.com/huggingface/safetensors): an 8-byte
// little-endian header length, a JSON header of name → {dtype, shape, data_offsets}, then the raw
// little-endian tensor bytes. Only float32 tensors, which is all the engine uses.

/** A named float32 tensor. */
export interface NamedTensor {
  name: string;
  shape: readonly number[];
  data: Float32Array;
}

/** Encodes tensors (in the order given) and string metadata as safetensors bytes. */
export function encodeSafetensors(
  tensors: readonly NamedTensor[],
  metadata: Record<string, string> = {},
): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const t of tensors) {
    const size = t.shape.reduce((a, b) => a * b, 1);
    if (size !== t.data.length) {
      throw new RangeError(
        `Cannot write '${t.name}' as its shape [${t.shape}] holds ${size} values: got ${t.data.length}`,
      );
    }
    header[t.name] = {
      dtype: "F32",
      shape: t.shape,
      data_offsets: [offset, offset + t.data.byteLength],
    };
    offset += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - (json.length % 8)) % 8); // align the data to 8 bytes
  const head = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + head.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  let at = 8 + head.length;
  for (const t of tensors) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), at);
    at += t.data.byteLength;
  }
  return out;
}

/**
 * Decodes safetensors bytes.
 *
 * @throws {Error} when the header is malformed or a tensor is not F32
 */
export function decodeSafetensors(
  bytes: Uint8Array,
): { tensors: Map<string, NamedTensor>; metadata: Record<string, string> } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const length = Number(view.getBigUint64(0, true));
  if (8 + length > bytes.length) {
    throw new Error(`safetensors header of ${length} bytes runs past the file`);
  }
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + length)));
  const base = 8 + length;
  const tensors = new Map<string, NamedTensor>();
  for (const [name, info] of Object.entries(header)) {
    if (name === "__metadata__") continue;
    const { dtype, shape, data_offsets } = info as {
      dtype: string;
      shape: number[];
      data_offsets: [number, number];
    };
    if (dtype !== "F32") throw new Error(`tensor '${name}' is ${dtype}: only F32 is supported`);
    const [begin, end] = data_offsets;
    const copy = bytes.slice(base + begin, base + end);
    tensors.set(name, { name, shape, data: new Float32Array(copy.buffer) });
  }
  return { tensors, metadata: (header.__metadata__ ?? {}) as Record<string, string> };
}
