// The term–document frequency matrix of an analysed corpus, by term (CSR), shared by every method
// of the family that scores from term frequencies. Built once per corpus and analyzer.
import type { Analyzer } from "./_analysis.ts";
import type { Corpus } from "./_interface.ts";

/** Term frequencies by term: postings of term t are `docs[offsets[t] .. offsets[t+1])`, ascending. */
export interface Postings {
  analyzer: string;
  numDocs: number;
  vocab: Map<string, number>;
  terms: string[];
  offsets: Int32Array;
  docs: Int32Array;
  tfs: Int32Array;
  /** Terms per document, after analysis. */
  docLen: Int32Array;
  avgDocLen: number;
  /** Tokens of the whole collection, after analysis. */
  totalTerms: number;
  df(term: number): number;
  /** Occurrences of a term in the whole collection. */
  cf: Float64Array;
  /**
   * Wall time the analysis and these postings took when first built. Later builds over the same
   * corpus and analyzer reuse them, so an index's own build time leaves this out: cells report it
   * apart (`analysis_ms`), whichever cell paid it.
   */
  analysisMs: number;
}

const cache = new WeakMap<Corpus, Map<string, Postings>>();

/**
 * Analyses every document and builds its postings; memoized per (corpus object, analyzer name).
 *
 * @param corpus the documents
 * @param analyzer how text becomes terms
 */
export function buildPostings(corpus: Corpus, analyzer: Analyzer): Postings {
  let byAnalyzer = cache.get(corpus);
  if (!byAnalyzer) cache.set(corpus, byAnalyzer = new Map());
  const hit = byAnalyzer.get(analyzer.name);
  if (hit) return hit;
  const start = performance.now();

  const vocab = new Map<string, number>();
  const terms: string[] = [];
  const numDocs = corpus.texts.length;
  const docLen = new Int32Array(numDocs);
  // First pass: per-document (term, tf) pairs, flattened.
  const docTermStart = new Int32Array(numDocs + 1);
  const pairTerm: number[] = [];
  const pairTf: number[] = [];
  const local = new Map<number, number>();
  let totalTerms = 0;
  for (let d = 0; d < numDocs; d++) {
    const tokens = analyzer.terms(corpus.texts[d]);
    docLen[d] = tokens.length;
    totalTerms += tokens.length;
    local.clear();
    for (const t of tokens) {
      let id = vocab.get(t);
      if (id === undefined) {
        id = terms.length;
        vocab.set(t, id);
        terms.push(t);
      }
      local.set(id, (local.get(id) ?? 0) + 1);
    }
    for (const [id, tf] of local) {
      pairTerm.push(id);
      pairTf.push(tf);
    }
    docTermStart[d + 1] = pairTerm.length;
  }
  const nTerms = terms.length;
  const offsets = new Int32Array(nTerms + 1);
  for (const t of pairTerm) offsets[t + 1]++;
  for (let t = 0; t < nTerms; t++) offsets[t + 1] += offsets[t];
  const fill = offsets.slice(0, nTerms);
  const docs = new Int32Array(pairTerm.length);
  const tfs = new Int32Array(pairTerm.length);
  const cf = new Float64Array(nTerms);
  for (let d = 0; d < numDocs; d++) {
    for (let i = docTermStart[d]; i < docTermStart[d + 1]; i++) {
      const t = pairTerm[i];
      const at = fill[t]++;
      docs[at] = d;
      tfs[at] = pairTf[i];
      cf[t] += pairTf[i];
    }
  }
  const postings: Postings = {
    analyzer: analyzer.name,
    numDocs,
    vocab,
    terms,
    offsets,
    docs,
    tfs,
    docLen,
    avgDocLen: numDocs > 0 ? totalTerms / numDocs : 0,
    totalTerms,
    df: (t) => offsets[t + 1] - offsets[t],
    cf,
    analysisMs: performance.now() - start,
  };
  byAnalyzer.set(analyzer.name, postings);
  return postings;
}

/** Distinct known terms of a query with their counts, in ascending term id (the canonical order). */
export function queryTerms(
  postings: Postings,
  analyzer: Analyzer,
  text: string,
): { terms: Int32Array; counts: Float64Array; length: number } {
  const counts = new Map<number, number>();
  const tokens = analyzer.terms(text);
  for (const token of tokens) {
    const id = postings.vocab.get(token);
    if (id !== undefined) counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  const ids = Int32Array.from(counts.keys()).sort();
  return {
    terms: ids,
    counts: Float64Array.from(ids, (t) => counts.get(t)!),
    length: tokens.length,
  };
}

/** Approximate bytes of a vocabulary: UTF-16 code units plus a map entry each. */
export function vocabBytes(terms: readonly string[]): number {
  let n = 0;
  for (const t of terms) n += 2 * t.length + 16;
  return n;
}

/** Document-major view of postings: terms of doc d are `terms[start[d] .. start[d+1])`, ascending. */
export interface ForwardIndex {
  start: Int32Array;
  terms: Int32Array;
  tfs: Int32Array;
}

const forwardCache = new WeakMap<Postings, ForwardIndex>();

/** The forward index of some postings (memoized). */
export function forwardIndex(postings: Postings): ForwardIndex {
  const hit = forwardCache.get(postings);
  if (hit) return hit;
  const start = new Int32Array(postings.numDocs + 1);
  for (const d of postings.docs) start[d + 1]++;
  for (let d = 0; d < postings.numDocs; d++) start[d + 1] += start[d];
  const fill = start.slice(0, postings.numDocs);
  const terms = new Int32Array(postings.docs.length);
  const tfs = new Int32Array(postings.docs.length);
  for (let t = 0; t < postings.terms.length; t++) {
    for (let i = postings.offsets[t]; i < postings.offsets[t + 1]; i++) {
      const at = fill[postings.docs[i]]++;
      terms[at] = t;
      tfs[at] = postings.tfs[i];
    }
  }
  const forward = { start, terms, tfs };
  forwardCache.set(postings, forward);
  return forward;
}
