// The task registry: an explicit list of every task of every family.
import type { Task } from "../bench/metadata.ts";
import type { TaskImpl } from "../bench/plugin.ts";
import { Registry } from "../bench/registry.ts";
import { attentionFidelity } from "./synthetic_attention/attention_fidelity.ts";
import { attentionDecoding } from "./synthetic_attention/attention_decoding.ts";
import { associativeRecall } from "./synthetic_attention/associative_recall.ts";
import { needleRetrieval } from "./glove/needle_retrieval.ts";
import { wordnetSensesRetrieval } from "./wordnet_senses/wordnet_senses_retrieval.ts";
import { spamKnownItemRetrieval } from "./spam_known_item/spam_known_item_retrieval.ts";
import { mnistMlpAccuracy } from "./mnist/mnist_mlp_accuracy.ts";
import { fmnistMlpAccuracy } from "./fashion_mnist/fmnist_mlp_accuracy.ts";
import { sotuLmPerplexity } from "./sotu/lm_perplexity_task.ts";
import { sotuAttentionTrace } from "./sotu/attention_trace_task.ts";
import { attentionMultistep } from "./synthetic_attention/attention_multistep.ts";
import { spmmCrossover } from "./spmm_crossover/spmm_crossover_task.ts";
import { mnistMoe } from "./mnist_moe/mnist_moe_task.ts";
import { fmnistMoe } from "./fashion_mnist/fmnist_moe.ts";
import { routingRecovery } from "./routing_recovery/routing_recovery_task.ts";
import { moeLayerSpeed } from "./moe_layer_speed/moe_layer_speed_task.ts";
import { adapterTransfer } from "./adapter_transfer/adapter_transfer_task.ts";
import { sotuMoeLm } from "./sotu/moe_lm_task.ts";

/** A fresh registry of every task (fresh, so a run can freeze its own). */
export function taskRegistry(): Registry<Task<TaskImpl>> {
  return new Registry<Task<TaskImpl>>("task", [
    attentionFidelity,
    attentionDecoding,
    needleRetrieval,
    associativeRecall,
    wordnetSensesRetrieval,
    spamKnownItemRetrieval,
    mnistMlpAccuracy,
    fmnistMlpAccuracy,
    sotuLmPerplexity,
    sotuAttentionTrace,
    attentionMultistep,
    spmmCrossover,
    mnistMoe,
    fmnistMoe,
    routingRecovery,
    moeLayerSpeed,
    adapterTransfer,
    sotuMoeLm,
  ]);
}
