// IDX files (the MNIST family's format: big-endian magic, dimensions, then uint8 values), and a
// disk cache of decoded image sets keyed by the sha256 of their source files.
import { sha256Hex } from "../../bench/random.ts";
import { fileSource } from "../file_source.ts";

/** Images [count × rows·cols] uint8 and labels [count] uint8. */
export interface ImageSet {
  images: Uint8Array;
  labels: Uint8Array;
  count: number;
  rows: number;
  cols: number;
  /** sha256 over the source files' sha256s (images then labels): the set's identity. */
  sha256: string;
}

/**
 * Parses one IDX file of unsigned bytes.
 *
 * @throws {Error} when the magic number or the size does not fit
 */
export function parseIdx(bytes: Uint8Array, name: string): { dims: number[]; data: Uint8Array } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 4 || view.getUint16(0) !== 0 || bytes[2] !== 0x08) {
    throw new Error(
      `${name} is not an IDX file of unsigned bytes (magic ${view.getUint32(0).toString(16)})`,
    );
  }
  const rank = bytes[3];
  const dims = Array.from({ length: rank }, (_, i) => view.getUint32(4 + 4 * i));
  const size = dims.reduce((a, b) => a * b, 1);
  const start = 4 + 4 * rank;
  if (bytes.length !== start + size) {
    throw new Error(
      `${name} should hold ${start + size} bytes for dims [${dims}]: it holds ${bytes.length}`,
    );
  }
  return { dims, data: bytes.subarray(start) };
}

/** Builds an image set from parsed image and label files. */
export function imageSetOf(
  images: Uint8Array,
  labels: Uint8Array,
  sha256: string,
  name: string,
): ImageSet {
  const img = parseIdx(images, `${name} images`), lab = parseIdx(labels, `${name} labels`);
  if (img.dims.length !== 3 || lab.dims.length !== 1 || img.dims[0] !== lab.dims[0]) {
    throw new Error(`${name}: images [${img.dims}] and labels [${lab.dims}] do not match`);
  }
  return {
    images: img.data,
    labels: lab.data,
    count: img.dims[0],
    rows: img.dims[1],
    cols: img.dims[2],
    sha256,
  };
}

const CACHE_DIR = new URL("../../.cache/datasets/", import.meta.url);

/**
 * The image set cached under `.cache/datasets/<name>-<sha256>.bin`, or `build()`'s result,
 * written there for next time. A cache file that does not parse is rebuilt.
 */
export async function cachedImageSet(
  name: string,
  sha256: string,
  build: () => Promise<ImageSet>,
): Promise<ImageSet> {
  // The runner page has no disk: it decodes the (pinned, fetched) files every time.
  if (!fileSource().diskCache) return await build();
  const file = new URL(`${name}-${sha256}.bin`, CACHE_DIR);
  try {
    const bytes = await Deno.readFile(file);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const count = view.getUint32(0, true),
      rows = view.getUint32(4, true),
      cols = view.getUint32(8, true);
    if (bytes.length === 12 + count * rows * cols + count) {
      return {
        images: bytes.subarray(12, 12 + count * rows * cols),
        labels: bytes.subarray(12 + count * rows * cols),
        count,
        rows,
        cols,
        sha256,
      };
    }
  } catch {
    // No cache yet (or unreadable): build it.
  }
  const set = await build();
  const out = new Uint8Array(12 + set.images.length + set.labels.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, set.count, true);
  view.setUint32(4, set.rows, true);
  view.setUint32(8, set.cols, true);
  out.set(set.images, 12);
  out.set(set.labels, 12 + set.images.length);
  await Deno.mkdir(CACHE_DIR, { recursive: true });
  const tmp = new URL(`${name}-${sha256}.bin.tmp`, CACHE_DIR);
  await Deno.writeFile(tmp, out);
  await Deno.rename(tmp, file);
  return set;
}

/** The identity of a set from its files' pinned sha256s. */
export function setSha256(imagesSha: string, labelsSha: string): Promise<string> {
  return sha256Hex(new TextEncoder().encode(`${imagesSha}\n${labelsSha}\n`));
}

/** Images as float32 in [0, 1], [count × rows·cols]. */
export function imagesAsFloat(set: ImageSet, start = 0, count = set.count - start): Float32Array {
  const d = set.rows * set.cols, out = new Float32Array(count * d);
  const src = set.images.subarray(start * d, (start + count) * d);
  for (let i = 0; i < src.length; i++) out[i] = src[i] / 255;
  return out;
}
