// The retrieval family's contract: a method builds an index over a corpus, then answers text
// queries with a ranked list of document numbers. BM25 (exhaustive) is the baseline.
import type { GpuContext } from "../../gpu/device.ts";
import {
  defineMethod,
  type Method,
  type MethodDefinition,
  type ParamSpecs,
  type ParamValues,
  type ParamValuesOf,
} from "../../metadata.ts";

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

/** The most frequent words of a word-vector table and their vectors. */
export interface WordVectors {
  /** Most frequent first. */
  words: readonly string[];
  /** words.length × dim, row-major. */
  vectors: Float32Array;
  dim: number;
  /** Where the vectors came from (package and file), recorded in the method's config. */
  source: string;
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
  /**
   * The `words` most frequent words of the task's word-vector table, loaded on first call (the
   * task side owns the data source, so a method never names a dataset); absent when the task
   * has none.
   */
  wordVectors?: (words: number) => Promise<WordVectors>;
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

/** What a retrieval method implements; `V` are its parameter values, typed by its specs. */
export interface RetrievalMethod<V extends Readonly<ParamValues> = ParamValues> {
  build(corpus: Corpus, params: V, ctx: BuildContext): Promise<RetrievalIndex>;
}

/**
 * Declares a retrieval method: `impl.build` receives its parameter values typed by
 * `parameters`, so no method casts them.
 *
 * @param definition metadata (family "retrieval") and the implementation
 * @returns the frozen method, as the registry holds it
 * @throws {MetadataError} when the metadata does not satisfy the schema
 * @example
 * ```ts
 * import { defineRetrievalMethod, emptyRanking } from "./mod.ts";
 * const nothing = defineRetrievalMethod({
 *   id: "nothing",
 *   family: "retrieval",
 *   title: "Nothing",
 *   description: "answers every query with no document",
 *   paper: { title: "None", year: 2024, link: "https://example.org" },
 *   fidelity: { level: "faithful", reason: "a test fixture" },
 *   version: "1.0.0",
 *   parameters: { k1: { type: "number", description: "unused", default: 1, min: 0, max: 2, sweep: [1] } },
 *   capabilities: { requires: [], features: [] },
 *   impl: {
 *     build: (_corpus, params) =>
 *       Promise.resolve({
 *         search: () => emptyRanking(),
 *         reference: null,
 *         sizeBytes: 0,
 *         stats: {},
 *         config: { k1: params.k1 },
 *         dispose() {},
 *       }),
 *   },
 * });
 * nothing.meta.id; // "nothing"
 * ```
 */
export function defineRetrievalMethod<P extends ParamSpecs>(
  definition: MethodDefinition<P, RetrievalMethod<ParamValuesOf<P>>>,
): Method<RetrievalMethod> {
  return defineMethod(definition);
}

/** An empty ranking. */
export function emptyRanking(): Ranking {
  return { docs: new Int32Array(0), scores: new Float64Array(0), postingsScored: 0 };
}
