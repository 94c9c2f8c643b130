// Writes a collection's test topics and qrels, and optionally runs of some methods (default
// parameters, depth 100), in TREC formats for trec_eval:
//   deno run -A datasets/retrieval_common/export_trec.ts --collection wordnet-senses --out DIR \
//     [--method bm25 --method learned-sparse-idf]
import { parseArgs } from "node:util";
import { defaultParams } from "../../bench/metadata.ts";
import type { Ranking, RetrievalMethod } from "../../methods/retrieval/interface.ts";
import { retrievalMethods } from "../../methods/retrieval/mod.ts";
import { loadSpamKnownItem } from "../spam_known_item/loader.ts";
import { loadWordnetSenses } from "../wordnet_senses/loader.ts";
import { type Collection, trainingQueries } from "./collection.ts";
import { EVAL_K } from "./retrieval_task.ts";
import { qrelsText, runText, topicsText } from "./trec.ts";

export const COLLECTIONS: Record<string, () => Promise<Collection>> = {
  "wordnet-senses": loadWordnetSenses,
  "spam-known-item": loadSpamKnownItem,
};

/**
 * Writes `<out>/<collection>.topics.test.tsv`, `.qrels.test.txt` and one `.<method>.run` each.
 *
 * @returns the paths written
 */
export async function exportTrec(
  collectionId: string,
  out: string,
  methodIds: readonly string[] = [],
): Promise<string[]> {
  const load = COLLECTIONS[collectionId];
  if (!load) {
    throw new Error(
      `Unknown collection '${collectionId}': expected one of ${
        Object.keys(COLLECTIONS).join(", ")
      }`,
    );
  }
  const c = await load();
  await Deno.mkdir(out, { recursive: true });
  const written = [
    `${out}/${collectionId}.topics.test.tsv`,
    `${out}/${collectionId}.qrels.test.txt`,
  ];
  await Deno.writeTextFile(written[0], topicsText(c.test));
  await Deno.writeTextFile(written[1], qrelsText(c.test, c.corpus));
  for (const id of methodIds) {
    const method = retrievalMethods.find((m) => m.meta.id === id);
    if (!method) {
      throw new Error(
        `Unknown retrieval method '${id}': expected one of ${
          retrievalMethods.map((m) => m.meta.id).join(", ")
        }`,
      );
    }
    const index = await (method.impl as RetrievalMethod).build(
      c.corpus,
      defaultParams(method.meta.parameters),
      { train: trainingQueries(c), seed: 0, corpusKey: collectionId },
    );
    const rankings: Ranking[] = c.test.map((q) => index.search(q.text, EVAL_K));
    const path = `${out}/${collectionId}.${id}.run`;
    await Deno.writeTextFile(path, runText(c.test, rankings, c.corpus, id));
    written.push(path);
    index.dispose();
  }
  return written;
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      collection: { type: "string" },
      out: { type: "string" },
      method: { type: "string", multiple: true },
    },
  });
  if (!values.collection || !values.out) {
    console.error(
      "usage: export_trec.ts --collection wordnet-senses|spam-known-item --out DIR [--method ID]...",
    );
    Deno.exit(2);
  }
  try {
    for (const path of await exportTrec(values.collection, values.out, values.method ?? [])) {
      console.log(`wrote ${path}`);
    }
  } catch (error) {
    console.error(`error: ${(error as Error).message}`);
    Deno.exit(1);
  }
}
