// `deno task export-trec`: writes a collection's test topics and qrels, and optionally runs of
// some methods (default parameters, depth 100), in TREC formats for trec_eval:
//   deno task export-trec --collection wordnet-senses --out DIR [--method bm25 --method ...]
// A CLI entry, so it may see both the method registry and the collections.
import { parseArgs } from "node:util";
import { EVAL_K, type Ranking } from "./families/retrieval/mod.ts";
import { defaultParams } from "./metadata.ts";
import { retrievalMethods } from "../methods/retrieval/mod.ts";
import { retrievalBuildContext } from "../datasets/retrieval_common/build_context.ts";
import { type Collection, trainingQueries } from "../datasets/retrieval_common/collection.ts";
import { qrelsText, runText, topicsText } from "../datasets/retrieval_common/trec.ts";
import { loadSpamKnownItem } from "../datasets/spam_known_item/loader.ts";
import { loadWordnetSenses } from "../datasets/wordnet_senses/loader.ts";

/** The collections that can be exported, by id. */
export const COLLECTIONS: Readonly<Record<string, () => Promise<Collection>>> = {
  "wordnet-senses": loadWordnetSenses,
  "spam-known-item": loadSpamKnownItem,
};

/** What {@link exportTrec} writes. */
export interface ExportTrecOptions {
  /** A key of {@link COLLECTIONS}. */
  collection: string;
  /** Directory written (created when missing). */
  out: string;
  /** Retrieval method ids whose runs are written, with default parameters. */
  methods?: readonly string[];
}

/**
 * Writes `<out>/<collection>.topics.test.tsv`, `.qrels.test.txt` and one `.<method>.run` each.
 *
 * @returns the paths written
 * @throws {Error} naming the valid ids for an unknown collection or method (checked before
 *   anything is loaded or written)
 */
export async function exportTrec(options: ExportTrecOptions): Promise<string[]> {
  const { collection: collectionId, out } = options;
  const load = COLLECTIONS[collectionId];
  if (!load) {
    throw new Error(
      `Unknown collection '${collectionId}': expected one of ${
        Object.keys(COLLECTIONS).join(", ")
      }`,
    );
  }
  const methods = (options.methods ?? []).map((id) => {
    const method = retrievalMethods.find((m) => m.meta.id === id);
    if (!method) {
      throw new Error(
        `Unknown retrieval method '${id}': expected one of ${
          retrievalMethods.map((m) => m.meta.id).join(", ")
        }`,
      );
    }
    return method;
  });
  const c = await load();
  await Deno.mkdir(out, { recursive: true });
  const written = [
    `${out}/${collectionId}.topics.test.tsv`,
    `${out}/${collectionId}.qrels.test.txt`,
  ];
  await Deno.writeTextFile(written[0], topicsText(c.test));
  await Deno.writeTextFile(written[1], qrelsText(c.test, c.corpus));
  const ctx = retrievalBuildContext({
    train: trainingQueries(c),
    seed: 0,
    corpusKey: collectionId,
    gpu: null,
  });
  for (const method of methods) {
    const index = await method.impl.build(c.corpus, defaultParams(method.meta.parameters), ctx);
    try {
      const rankings: Ranking[] = c.test.map((q) => index.search(q.text, EVAL_K));
      const path = `${out}/${collectionId}.${method.meta.id}.run`;
      await Deno.writeTextFile(path, runText(c.test, rankings, c.corpus, method.meta.id));
      written.push(path);
    } finally {
      index.dispose();
    }
  }
  return written;
}

if (import.meta.main) {
  const usage =
    "usage: deno task export-trec --collection wordnet-senses|spam-known-item --out DIR [--method ID]...";
  let values;
  try {
    ({ values } = parseArgs({
      args: Deno.args,
      options: {
        collection: { type: "string" },
        out: { type: "string" },
        method: { type: "string", multiple: true },
      },
    }));
  } catch (error) {
    console.error(`error: ${(error as Error).message}\n${usage}`);
    Deno.exit(2);
  }
  if (!values.collection || !values.out) {
    console.error(usage);
    Deno.exit(2);
  }
  try {
    const paths = await exportTrec({
      collection: values.collection,
      out: values.out,
      methods: values.method ?? [],
    });
    for (const path of paths) console.log(`wrote ${path}`);
  } catch (error) {
    console.error(`error: ${(error as Error).message}`);
    Deno.exit(1);
  }
}
