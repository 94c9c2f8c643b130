// `deno task export-trec`: writes a retrieval case's test topics and qrels and some methods' runs
// (depth 100) in TREC formats, so trec_eval can check the leaderboard. Two ways to name the runs:
//   deno task export-trec --run RUN.json --cell KEY [--cell KEY]... --out DIR
//     the named cells of a run file, rebuilt with that run's seed, case and parameters: trec_eval
//     on the files gives the cells' nDCG@10, MRR@10 (recip_rank at -M 10) and R@100;
//   deno task export-trec --collection ID --out DIR [--method ID]... [--profile P] [--seed N]
//     what `deno task bench --profile P --seed N` would run: the profile's first case, each
//     method at its defaults (default: quick, seed 0, the task's reference method).
// Each run has a `.json` beside it saying which run and cell (or profile) it reproduces.
// A CLI entry, so it may see both the method registry and the collections.
import { parseArgs } from "node:util";
import { EVAL_K, type RetrievalMethod } from "./families/retrieval/mod.ts";
import {
  defaultParams,
  type Method,
  type ParamValues,
  type Profile,
  PROFILES,
} from "./metadata.ts";
import { paramsKey } from "./plan.ts";
import { readRunFile } from "./results/run_file.ts";
import { caseSeed } from "./runner.ts";
import { retrievalMethods } from "../methods/retrieval/mod.ts";
import type { Collection } from "../datasets/retrieval_common/collection.ts";
import {
  collectionCase,
  rankQueries,
  type SampleParams,
} from "../datasets/retrieval_common/retrieval_task.ts";
import { qrelsText, runText, topicsText } from "../datasets/retrieval_common/trec.ts";
import { loadSpamKnownItem } from "../datasets/spam_known_item/loader.ts";
import { spamKnownItemRetrieval } from "../datasets/spam_known_item/spam_known_item_retrieval.ts";
import { loadWordnetSenses } from "../datasets/wordnet_senses/loader.ts";
import { wordnetSensesRetrieval } from "../datasets/wordnet_senses/wordnet_senses_retrieval.ts";

/** The collections that can be exported, by id, with the task that benchmarks each. */
export const COLLECTIONS: Readonly<
  Record<string, { load: () => Promise<Collection>; task: typeof wordnetSensesRetrieval }>
> = {
  "wordnet-senses": { load: loadWordnetSenses, task: wordnetSensesRetrieval },
  "spam-known-item": { load: loadSpamKnownItem, task: spamKnownItemRetrieval },
};

/** One run to write: a method with its parameters on a case, and where the request came from. */
interface ExportRequest {
  collection: string;
  caseParams: SampleParams;
  seed: number;
  method: Method<RetrievalMethod>;
  params: ParamValues;
  /** What the run reproduces, written beside it. */
  provenance: Record<string, unknown>;
}

/** What {@link exportTrec} writes. */
export type ExportTrecOptions =
  & { out: string }
  & (
    | {
      /** A run file, and the keys of the cells to export from it. */
      run: string;
      cells: readonly string[];
    }
    | {
      /** A key of {@link COLLECTIONS}. */
      collection: string;
      /** Method ids (default: the task's reference method), each at its defaults. */
      methods?: readonly string[];
      /** Whose first case is exported (default quick). */
      profile?: Profile;
      /** The bench's `--seed` (default 0). */
      seed?: number;
    }
  );

function findMethod(id: string): Method<RetrievalMethod> {
  const method = retrievalMethods.find((m) => m.meta.id === id);
  if (!method) {
    throw new Error(
      `Unknown retrieval method '${id}': expected one of ${
        retrievalMethods.map((m) => m.meta.id).join(", ")
      }`,
    );
  }
  return method;
}

function findCollection(id: string): (typeof COLLECTIONS)[string] {
  const found = COLLECTIONS[id];
  if (!found) {
    throw new Error(
      `Unknown collection '${id}': expected one of ${Object.keys(COLLECTIONS).join(", ")}`,
    );
  }
  return found;
}

async function requestsFromRun(path: string, keys: readonly string[]): Promise<ExportRequest[]> {
  if (keys.length === 0) throw new Error("--run needs at least one --cell KEY");
  const run = await readRunFile(path);
  return keys.map((key) => {
    const cell = run.cells.find((c) => c.key === key);
    if (!cell) {
      const retrieval = run.cells.filter((c) => c.task.family === "retrieval").map((c) => c.key);
      throw new Error(
        `Run ${run.runId} has no cell '${key}'${
          retrieval.length ? `; its retrieval cells: ${retrieval.slice(0, 5).join(" ; ")}…` : ""
        }`,
      );
    }
    const collection = Object.entries(COLLECTIONS).find(([, c]) => c.task.meta.id === cell.task.id)
      ?.[0];
    if (!collection) {
      throw new Error(
        `Cell '${key}' is of task '${cell.task.id}', not of a retrieval collection (${
          Object.values(COLLECTIONS).map((c) => c.task.meta.id).join(", ")
        })`,
      );
    }
    const method = findMethod(cell.method.id);
    if (method.meta.version !== cell.method.version) {
      throw new Error(
        `Cell '${key}' ran ${cell.method.id} ${cell.method.version}; this checkout has ${method.meta.version}, which may rank differently: check out the run's commit (${
          run.environment.git?.commit ?? "unknown"
        })`,
      );
    }
    const caseParams = cell.task.case as SampleParams;
    return {
      collection,
      caseParams,
      seed: caseSeed(run.seed, cell.task.id, paramsKey(caseParams)),
      method,
      params: cell.method.params,
      provenance: {
        run: run.runId,
        cell: key,
        runCommit: run.environment.git?.commit ?? null,
        runSeed: run.seed,
        status: cell.status,
        metrics: Object.fromEntries(
          ["ndcg_10", "mrr_10", "recall_100"].map((m) => [m, cell.metrics[m] ?? null]),
        ),
      },
    };
  });
}

function requestsFromProfile(
  collection: string,
  methodIds: readonly string[] | undefined,
  profile: Profile,
  seed: number,
): ExportRequest[] {
  const { task } = findCollection(collection);
  const methods = (methodIds?.length ? methodIds : [task.meta.referenceMethod]).map(findMethod);
  const lists = task.meta.profiles[profile];
  const caseParams = Object.fromEntries(
    Object.entries(task.meta.parameters).map(([k, spec]) => [k, lists[k]?.[0] ?? spec.default]),
  ) as SampleParams;
  return methods.map((method) => ({
    collection,
    caseParams,
    seed: caseSeed(seed, task.meta.id, paramsKey(caseParams)),
    method,
    params: defaultParams(method.meta.parameters),
    provenance: { profile, runSeed: seed, note: "the profile's first case, method defaults" },
  }));
}

const fileSafe = (text: string) => text.replace(/[^a-zA-Z0-9=.,_-]/g, "_").replaceAll(",", "_");

/**
 * Writes, per case, `<out>/<collection>.<case>.topics.test.tsv` and `.qrels.test.txt`, and per
 * request `<collection>.<case>.<method>.<params>.run` with a `.json` of its provenance.
 *
 * @returns the paths written
 * @throws {Error} naming the valid ids for an unknown collection, method or cell (checked before
 *   anything is loaded or written)
 */
export async function exportTrec(options: ExportTrecOptions): Promise<string[]> {
  const requests = "run" in options
    ? await requestsFromRun(options.run, options.cells)
    : requestsFromProfile(
      options.collection,
      options.methods,
      options.profile ?? "quick",
      options.seed ?? 0,
    );
  const { out } = options;
  await Deno.mkdir(out, { recursive: true });
  const written: string[] = [];
  const loaded = new Map<string, Promise<Collection>>();
  for (const r of requests) {
    const source = findCollection(r.collection);
    if (!loaded.has(r.collection)) loaded.set(r.collection, source.load());
    const kase = await collectionCase(await loaded.get(r.collection)!, r.caseParams, r.seed, null);
    const c = kase.collection;
    const stem = `${out}/${r.collection}.${fileSafe(paramsKey(r.caseParams))}`;
    for (
      const [path, text] of [
        [`${stem}.topics.test.tsv`, topicsText(c.test)],
        [`${stem}.qrels.test.txt`, qrelsText(c.test, c.corpus)],
      ]
    ) {
      if (written.includes(path)) continue;
      await Deno.writeTextFile(path, text);
      written.push(path);
    }
    const index = await r.method.impl.build(c.corpus, r.params, kase.buildContext);
    try {
      const rankings = await rankQueries(index, c.test, EVAL_K, kase.batchSize);
      const name = `${stem}.${r.method.meta.id}.${fileSafe(paramsKey(r.params)) || "defaults"}`;
      await Deno.writeTextFile(
        `${name}.run`,
        runText(c.test, rankings, c.corpus, r.method.meta.id),
      );
      await Deno.writeTextFile(
        `${name}.json`,
        JSON.stringify(
          {
            ...r.provenance,
            task: source.task.meta.id,
            case: r.caseParams,
            caseSeed: r.seed,
            method: r.method.meta.id,
            methodVersion: r.method.meta.version,
            params: r.params,
            datasetSha256: kase.datasetSha256,
            depth: EVAL_K,
            trecEval:
              "trec_eval -c -m ndcg_cut.10 -m recall.100 QRELS RUN; MRR@10: trec_eval -c -M 10 -m recip_rank QRELS RUN",
          },
          null,
          2,
        ) + "\n",
      );
      written.push(`${name}.run`, `${name}.json`);
    } finally {
      index.dispose();
    }
  }
  return written;
}

if (import.meta.main) {
  const usage = [
    "usage: deno task export-trec --run RUN.json --cell KEY [--cell KEY]... --out DIR",
    "       deno task export-trec --collection wordnet-senses|spam-known-item --out DIR [--method ID]... [--profile smoke|quick|full] [--seed N]",
  ].join("\n");
  let values;
  try {
    ({ values } = parseArgs({
      args: Deno.args,
      options: {
        run: { type: "string" },
        cell: { type: "string", multiple: true },
        collection: { type: "string" },
        out: { type: "string" },
        method: { type: "string", multiple: true },
        profile: { type: "string" },
        seed: { type: "string" },
      },
    }));
  } catch (error) {
    console.error(`error: ${(error as Error).message}\n${usage}`);
    Deno.exit(2);
  }
  const seed = values.seed === undefined ? 0 : Number(values.seed);
  const problems = [
    !values.out && "--out is required",
    !values.run === !values.collection && "give either --run with --cell, or --collection",
    values.profile && !(PROFILES as readonly string[]).includes(values.profile) &&
    `Unknown profile '${values.profile}': expected one of ${PROFILES.join(", ")}`,
    (!Number.isInteger(seed) || seed < 0) && `--seed must be an integer ≥ 0: got '${values.seed}'`,
  ].filter(Boolean);
  if (problems.length > 0) {
    console.error(`error: ${problems.join("; ")}\n${usage}`);
    Deno.exit(2);
  }
  try {
    const paths = await exportTrec(
      values.run ? { run: values.run, cells: values.cell ?? [], out: values.out! } : {
        collection: values.collection!,
        out: values.out!,
        methods: values.method,
        profile: values.profile as Profile | undefined,
        seed,
      },
    );
    for (const path of paths) console.log(`wrote ${path}`);
  } catch (error) {
    console.error(`error: ${(error as Error).message}`);
    Deno.exit(1);
  }
}
