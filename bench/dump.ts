// `--dump DIR`: each cell's check input and outputs as raw little-endian float32 files with a
// JSON manifest of names and shapes, so anyone can verify a kernel with their own tools.
import type { DumpTensor } from "./plugin.ts";

export interface DumpManifest {
  runId: string;
  format: "float32, little-endian, row-major";
  cells: { key: string; files: { name: string; file: string; shape: number[] }[] }[];
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
  tensors: DumpTensor[],
): Promise<void> {
  if (tensors.length === 0) return;
  const folder = dumpFolderName(cellKey);
  await Deno.mkdir(`${dir}/${folder}`, { recursive: true });
  const files = [];
  for (const t of tensors) {
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
