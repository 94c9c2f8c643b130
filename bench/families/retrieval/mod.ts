/**
 * The retrieval family's package: what its methods and tasks share, and the only thing either
 * side imports of the family. A method builds an index over a corpus, then answers text queries
 * with ranked doc numbers (`index(corpus)` then `search(query, k)`); BM25 is the baseline.
 *
 * - the contract: {@link RetrievalMethod}, {@link RetrievalIndex}, {@link BuildContext} (with
 *   word vectors the task provides), {@link defineRetrievalMethod};
 * - the plain CPU reference of the lexical methods, {@link termAtATimeReference}, and the
 *   correctness gate {@link checkRankings} (top-10 and top-100 equal the reference's);
 * - effectiveness measures with trec_eval's definitions ({@link queryMeasures}) and the order
 *   trec_eval scores a run in ({@link trecEvalOrder});
 * - shared building blocks: analysis, postings, impact indexes, BM25, the exact top-k
 *   algorithms (exhaustive, MaxScore, WAND, Block-Max WAND) and the peers' ranking helpers.
 *
 * @module
 */
export * from "./_interface.ts";
export * from "./_gate.ts";
export * from "./_top_k.ts";
export * from "./_analysis.ts";
export * from "./_postings.ts";
export * from "./_impact_index.ts";
export * from "./_exhaustive.ts";
export * from "./_maxscore.ts";
export * from "./_wand.ts";
export * from "./_block_max_wand.ts";
export * from "./_lexical_index.ts";
export * from "./_param_specs.ts";
export * from "./_bm25_scorer.ts";
export * from "./_peer_ranking.ts";
export * from "./_metrics.ts";
export * from "./_trec_order.ts";
