// A test collection with natural relevance: documents, train and test queries, judgments; its
// canonical hash, deterministic sampling for small profiles, and the cache of converted data.
import type { Corpus, TrainingQuery } from "../../bench/families/retrieval/mod.ts";
import { hashString, sha256OfText } from "../../bench/random.ts";
import { fileSource } from "../file_source.ts";

export interface JudgedQuery {
  id: string;
  text: string;
  /** Relevant doc numbers (grade 1). */
  relevant: number[];
}

export interface Collection {
  id: string;
  corpus: Corpus;
  train: JudgedQuery[];
  test: JudgedQuery[];
  /** Facts of the construction (counts dropped, merged), for the README card and the result. */
  facts: Record<string, number>;
}

/** Train (80%) or test (20%), from an FNV-1a hash of the query id. */
export function splitOf(queryId: string): "train" | "test" {
  return hashString(queryId) % 100 < 20 ? "test" : "train";
}

/** sha256 over a canonical text of the collection (ids, texts, queries, judgments). */
export function collectionSha256(c: Collection): Promise<string> {
  const parts: string[] = [];
  for (let d = 0; d < c.corpus.ids.length; d++) {
    parts.push(`D\t${c.corpus.ids[d]}\t${c.corpus.texts[d]}`);
  }
  for (const [tag, list] of [["R", c.train], ["T", c.test]] as const) {
    for (const q of list) parts.push(`${tag}\t${q.id}\t${q.text}\t${q.relevant.join(",")}`);
  }
  return sha256OfText(parts.join("\n"));
}

/**
 * A deterministic sample: the first `queries` test queries in order of a hash of their ids, all
 * their relevant documents, and other documents (by hash of id) up to `docs` in all; train
 * queries keep only judgments inside the sample and are dropped when none is left.
 *
 * @param c the whole collection
 * @param size `docs`: documents to keep, `queries`: test queries to keep (0: all, for either)
 * @returns the sample (`c` itself when it keeps everything)
 */
export function sampleCollection(
  c: Collection,
  size: { docs: number; queries: number },
): Collection {
  const { docs, queries } = size;
  const byHash = <T>(items: readonly T[], key: (t: T) => string) =>
    items.map((t) => ({ t, h: hashString(key(t), 0x9e3779b9) }))
      .sort((a, b) => a.h - b.h || (key(a.t) < key(b.t) ? -1 : 1)).map((x) => x.t);
  const test = queries > 0 && queries < c.test.length
    ? byHash(c.test, (q) => q.id).slice(0, queries)
    : c.test;
  const n = c.corpus.ids.length;
  if (docs <= 0 || docs >= n) {
    return test === c.test ? c : { ...c, test: test.slice() };
  }
  const keep = new Set<number>();
  for (const q of test) for (const d of q.relevant) keep.add(d);
  const order = byHash(Array.from({ length: n }, (_, i) => i), (i) => c.corpus.ids[i]);
  for (const d of order) {
    if (keep.size >= docs) break;
    keep.add(d);
  }
  const kept = [...keep].sort((a, b) => a - b);
  const renumber = new Map(kept.map((d, i) => [d, i]));
  const remap = (q: JudgedQuery): JudgedQuery => ({
    ...q,
    relevant: q.relevant.filter((d) => renumber.has(d)).map((d) => renumber.get(d)!),
  });
  return {
    ...c,
    corpus: {
      ids: kept.map((d) => c.corpus.ids[d]),
      texts: kept.map((d) => c.corpus.texts[d]),
    },
    test: test.map(remap),
    train: c.train.map(remap).filter((q) => q.relevant.length > 0),
  };
}

/** Training queries in the form methods take. */
export function trainingQueries(c: Collection): TrainingQuery[] {
  return c.train.map((q) => ({ id: q.id, text: q.text, relevant: q.relevant }));
}

const CACHE_DIR = new URL("../../.cache/retrieval/", import.meta.url);

/**
 * The collection converted earlier under `.cache/retrieval/<name>-<key>.json`, or null.
 * `key` must change whenever the sources or the converter change.
 */
export async function readCachedCollection(name: string, key: string): Promise<Collection | null> {
  // The runner page has no disk: it converts every time.
  if (!fileSource().diskCache) return null;
  try {
    return JSON.parse(await Deno.readTextFile(new URL(`${name}-${key}.json`, CACHE_DIR)));
  } catch {
    return null;
  }
}

/** Stores a converted collection in the cache (atomically: a temporary file, then a rename). */
export async function writeCachedCollection(
  name: string,
  key: string,
  c: Collection,
): Promise<void> {
  if (!fileSource().diskCache) return;
  await Deno.mkdir(CACHE_DIR, { recursive: true });
  const path = new URL(`${name}-${key}.json`, CACHE_DIR);
  const tmp = new URL(`${name}-${key}.json.${crypto.randomUUID().slice(0, 8)}.tmp`, CACHE_DIR);
  await Deno.writeTextFile(tmp, JSON.stringify(c));
  await Deno.rename(tmp, path);
}
