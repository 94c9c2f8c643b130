// `--dump DIR`: each cell's check input and outputs as raw little-endian float32 files (and whole
// files a task adds, such as a pruned model as safetensors) with a JSON manifest of names, shapes
// and formats, so anyone can verify a kernel or re-derive a mask with their own tools.
import type { DumpFile, DumpTensor } from "./plugin.ts";

/** One dumped file as the manifest lists it: a raw tensor has a shape, a whole file a format. */
export interface DumpEntry {
  name: string;
  file: string;
  shape?: number[];
  format?: string;
}

export interface DumpManifest {
  runId: string;
  /** The format of the `.f32` tensor files; whole files state their own. */
  format: "float32, little-endian, row-major";
  cells: { key: string; files: DumpEntry[] }[];
}

/** A cell key as a folder name. */
export function dumpFolderName(cellKey: string): string {
  return cellKey.replace(/[^A-Za-z0-9._=-]+/g, "_");
}

function littleEndianBytes(data: Float32Array): Uint8Array {
  const view = new DataView(new ArrayBuffer(data.length * 4));
  for (let i = 0; i < data.length; i++) view.setFloat32(i * 4, data[i], true);
  return new Uint8Array(view.buffer);
}

/** Writes one cell's tensors and adds them to `manifest` (which it then rewrites). */
export async function writeDumps(
  dir: string,
  manifest: DumpManifest,
  cellKey: string,
  tensors: (DumpTensor | DumpFile)[],
): Promise<void> {
  if (tensors.length === 0) return;
  const folder = dumpFolderName(cellKey);
  await Deno.mkdir(`${dir}/${folder}`, { recursive: true });
  const files: DumpEntry[] = [];
  for (const t of tensors) {
    if ("bytes" in t) {
      const file = `${folder}/${t.name}.${t.extension}`;
      await Deno.writeFile(`${dir}/${file}`, t.bytes);
      files.push({ name: t.name, file, format: t.format });
      continue;
    }
    const expected = t.shape.reduce((a, b) => a * b, 1);
    if (expected !== t.data.length) {
      throw new RangeError(`Dump '${t.name}' has ${t.data.length} values for shape [${t.shape}]`);
    }
    const file = `${folder}/${t.name}.f32`;
    await Deno.writeFile(`${dir}/${file}`, littleEndianBytes(t.data));
    files.push({ name: t.name, file, shape: t.shape });
  }
  manifest.cells.push({ key: cellKey, files });
  await Deno.writeTextFile(`${dir}/manifest.json`, JSON.stringify(manifest, null, 2) + "\n");
}
