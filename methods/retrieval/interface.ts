// The retrieval family's contract: a method builds an index over a corpus, then answers text
// queries with a ranked list of document numbers. BM25 (exhaustive) is the baseline.
import type { GpuContext } from "../../bench/gpu/device.ts";
import type { ParamValues } from "../../bench/metadata.ts";

/** Documents of a collection; a document is known by its position (its doc number). */
export interface Corpus {
  /** External ids (TREC docnos), one per document. */
  ids: readonly string[];
  texts: readonly string[];
}

/** A query with its relevant documents (doc numbers of the corpus), for methods that learn. */
export interface TrainingQuery {
  id: string;
  text: string;
  relevant: readonly number[];
}

/** What a method may use while it builds its index (never the test queries). */
export interface BuildContext {
  /** Training queries of the collection; empty when the collection has none. */
  train: readonly TrainingQuery[];
  /** Seed for anything random the build does. */
  seed: number;
  /** Key of the corpus contents (sha256), for caches of derived data such as learned weights. */
  corpusKey: string;
  /** The run's WebGPU device, or null; only methods that require "webgpu" use it. */
  gpu?: GpuContext | null;
}

/** A ranked answer: doc numbers by descending score, ties by ascending doc number. */
export interface Ranking {
  docs: Int32Array;
  scores: Float64Array;
  /** Postings (document–term pairs) whose contribution was computed: the FLOPs measure. */
  postingsScored: number;
}

/** A plain, obviously correct way to compute the same ranking, for the correctness gate. */
export interface ReferenceSearch {
  description: string;
  search(query: string, k: number): Ranking;
  /** How many queries the gate checks (a brute-force reference may be slow); null: all. */
  maxQueries: number | null;
  /** Absolute tolerance on scores; doc numbers must be identical. */
  scoreTolerance: number;
}

/** A built index, ready to be timed. */
export interface RetrievalIndex {
  search(query: string, k: number): Ranking;
  /**
   * Answers many queries at once (a GPU batch); when present, the task times and scores through
   * it instead of `search`.
   */
  searchBatch?(queries: readonly string[], k: number): Promise<Ranking[]>;
  /** The reference the gate compares with; null when the method has none (peer libraries). */
  reference: ReferenceSearch | null;
  /** Bytes the index holds (typed arrays and the vocabulary), or an estimate named in `config`. */
  sizeBytes: number;
  /** Extra figures of the index, e.g. `nonzeros_per_doc`. */
  stats: Record<string, number>;
  /** How the method was configured, recorded in the result. */
  config: Record<string, string | number | boolean>;
  dispose(): void;
}

/** What a retrieval method implements. */
export interface RetrievalMethod {
  build(corpus: Corpus, params: ParamValues, ctx: BuildContext): Promise<RetrievalIndex>;
}

/** An empty ranking. */
export function emptyRanking(): Ranking {
  return { docs: new Int32Array(0), scores: new Float64Array(0), postingsScored: 0 };
}
