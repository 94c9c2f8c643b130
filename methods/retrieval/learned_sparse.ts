// An inference-free learned sparse retriever after "Towards Competitive Search Relevance For
// Inference-Free Learned Sparse Retrievers" (2024): documents get learned term weights (with
// expansion terms) trained on the collection's train queries under an IDF-aware FLOPS penalty;
// the query side is no model at all: its tokens, each weighted by its IDF.
import {
  ANALYZER_PARAMS,
  analyzerFor,
  blockMaxWandTopK,
  type BuildContext,
  buildImpactIndex,
  buildPostings,
  type Corpus,
  defineRetrievalMethod,
  forwardIndex,
  impactIndexBytes,
  luceneIdf,
  type PostingLists,
  type RetrievalIndex,
  termAtATimeReference,
  type TrainingQuery,
  vocabBytes,
  type WeightedQuery,
} from "../../bench/families/retrieval/mod.ts";
import type { ParamSpecs, ParamValuesOf } from "../../bench/metadata.ts";
import { hashString, mulberry32 } from "../../bench/random.ts";

/** Tokens among the first few of a document (WordNet's lemmas, a body's opening words). */
const EARLY_TOKENS = 6;

const LEARNED_SPARSE_PARAMS = {
  k1: {
    type: "number",
    description: "BM25 k1 of the starting weights",
    default: 0.9,
    min: 0,
    max: 3,
    sweep: [0.9],
  },
  b: {
    type: "number",
    description: "BM25 b of the starting weights",
    default: 0.4,
    min: 0,
    max: 1,
    sweep: [0.4],
  },
  stem: { type: "boolean", description: "Porter stemming", default: true, sweep: [true] },
  stopwords: { ...ANALYZER_PARAMS.stopwords, sweep: [ANALYZER_PARAMS.stopwords.default] },
  epochs: {
    type: "int",
    description: "passes over the train queries",
    default: 2,
    min: 0,
    max: 50,
    sweep: [2],
  },
  negatives: {
    type: "int",
    description: "BM25 hard negatives per train query",
    default: 20,
    min: 1,
    max: 200,
    sweep: [20],
  },
  temperature: {
    type: "number",
    description: "softmax temperature of the training loss",
    default: 5,
    min: 0.01,
    max: 100,
    sweep: [5],
  },
  learningRate: {
    type: "number",
    description: "SGD step on the per-document weights",
    default: 0.05,
    min: 0,
    max: 10,
    sweep: [0.05],
  },
  termRate: {
    type: "number",
    description: "SGD step on the per-term scales shared by all documents",
    default: 0.01,
    min: 0,
    max: 1,
    sweep: [0.01],
  },
  flopsWeight: {
    type: "number",
    description: "λ of the IDF-aware FLOPS penalty",
    default: 0.5,
    min: 0,
    max: 100,
    sweep: [0.5],
  },
  minWeight: {
    type: "number",
    description: "weights below this are dropped after training",
    default: 0.02,
    min: 0,
    max: 1,
    sweep: [0.02],
  },
} satisfies ParamSpecs;

/** The method's parameter values. */
export type LearnedSparseParams = ParamValuesOf<typeof LEARNED_SPARSE_PARAMS>;

/** How training runs: the parameters, and the early-position weight chosen beforehand. */
export interface LearnedSparseSettings extends LearnedSparseParams {
  /** Coefficient of the early-position feature, chosen on held-out train queries. */
  earlyWeight: number;
}

/** A document's terms in document-major order with the shared features of each (doc, term). */
export interface DocumentFeatures {
  /** Terms of doc d are `terms[start[d] .. start[d+1])`, ascending. */
  start: Int32Array;
  terms: Int32Array;
  /** BM25's tf saturation of each (doc, term). */
  base: Float64Array;
  /** 1 when the term is among the document's first tokens. */
  early: Uint8Array;
}

/** A train query as training sees it: distinct term ids with counts, and relevant doc numbers. */
export interface TrainQueryTerms {
  terms: Int32Array;
  counts: Float64Array;
  relevant: readonly number[];
}

/** What {@link trainLearnedSparse} trains on. */
export interface LearnedSparseTraining {
  docs: DocumentFeatures;
  /** IDF of every term id (query-only words included). */
  idf: Float64Array;
  train: readonly TrainQueryTerms[];
  /** Hard negatives (BM25's top documents) of train query q. */
  negativesOf: (q: number) => Int32Array;
  /** Seed of the shuffling. */
  seed: number;
}

/** The trained model: per-document sparse weights, plus the shared feature coefficients. */
export interface LearnedWeights {
  /** Document-major: terms of doc d are `terms[start[d] .. start[d+1])`, ascending. */
  start: Int32Array;
  terms: Int32Array;
  weights: Float32Array;
  /** Coefficients of the shared features (BM25 tf part, early position). */
  alpha: [number, number];
  expansionTerms: number;
  trainLoss: number[];
}

/**
 * Trains document-side weights. A weight is
 * relu(γ(t) · (bm25tf(d,t) + α · early(d,t)) + δ(d,t)): γ is one scale per term shared by every
 * document (so it generalizes to documents no train query names), α weighs the early-position
 * feature (chosen beforehand on held-out train queries), and δ is a sparse residual of the
 * relevant documents of train queries, created for a query term the document lacks (expansion).
 * Untrained (γ = 1, α = 0, δ = 0) it scores exactly as BM25.
 *
 * The loss of a train query is softmax cross-entropy (temperature τ) of its relevant documents
 * against BM25's top `negatives` others, scored Σ_t idf(t) · qtf · w(d, t); hard negatives move
 * only the shared γ, since each of them is relevant to other queries. The IDF-aware FLOPS
 * penalty λ Σ_t (mean over the batch's documents of w(d, t))² / idf(t) pushes weights of
 * frequent, low-IDF terms to zero first and spares the rare ones that carry relevance.
 */
export function trainLearnedSparse(
  s: Readonly<LearnedSparseSettings>,
  training: LearnedSparseTraining,
): LearnedWeights {
  const { idf, train, negativesOf, seed } = training;
  const { start, terms, base, early } = training.docs;
  const numDocs = start.length - 1;
  const delta = new Float64Array(terms.length);
  const expansion: (Map<number, number> | undefined)[] = new Array(numDocs);
  const alpha: [number, number] = [1, s.earlyWeight];
  const find = (d: number, t: number) => {
    let lo = start[d], hi = start[d + 1];
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (terms[mid] < t) lo = mid + 1;
      else hi = mid;
    }
    return lo < start[d + 1] && terms[lo] === t ? lo : -1;
  };
  const gamma = new Float64Array(idf.length).fill(1);
  const weightAt = (i: number) =>
    Math.max(0, gamma[terms[i]] * (alpha[0] * base[i] + alpha[1] * early[i]) + delta[i]);
  const weight = (d: number, t: number) => {
    const i = find(d, t);
    return i >= 0 ? weightAt(i) : Math.max(0, expansion[d]?.get(t) ?? 0);
  };
  const order = Array.from({ length: train.length }, (_, i) => i);
  const uniform = mulberry32(seed);
  const trainLoss: number[] = [];
  for (let epoch = 0; epoch < s.epochs; epoch++) {
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(uniform() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    let lossSum = 0;
    for (const qi of order) {
      const q = train[qi];
      const positives = new Set(q.relevant);
      const batch = [...q.relevant, ...[...negativesOf(qi)].filter((d) => !positives.has(d))];
      const qw = Float64Array.from(q.terms, (t, i) => idf[t] * q.counts[i]);
      const scores = batch.map((d) => {
        let sc = 0;
        for (let i = 0; i < q.terms.length; i++) sc += qw[i] * weight(d, q.terms[i]);
        return sc;
      });
      const max = Math.max(...scores);
      const exp = scores.map((x) => Math.exp((x - max) / s.temperature));
      const z = exp.reduce((a, b) => a + b, 0);
      const target = 1 / q.relevant.length;
      lossSum -= Math.log(
        Math.max(1e-30, exp.slice(0, q.relevant.length).reduce((a, b) => a + b, 0) / z),
      );
      batch.forEach((d, j) => {
        const g = (exp[j] / z - (positives.has(d) ? target : 0)) / s.temperature;
        if (Math.abs(g) < 1e-6) return;
        for (let i = 0; i < q.terms.length; i++) {
          const t = q.terms[i];
          const grad = g * qw[i];
          const at = find(d, t);
          if (at >= 0) {
            if (weightAt(at) <= 0 && grad > 0) continue;
            // Negatives move only the shared parameters: a document that is a hard negative
            // here is relevant to other queries, which its own residual must keep serving.
            if (positives.has(d)) delta[at] -= s.learningRate * grad;
            gamma[t] -= s.termRate * grad * (alpha[0] * base[at] + alpha[1] * early[at]);
          } else if (positives.has(d)) {
            let m = expansion[d];
            if (!m) expansion[d] = m = new Map();
            m.set(t, Math.max(0, (m.get(t) ?? 0) - s.learningRate * grad));
          }
        }
      });
      // IDF-aware FLOPS over the batch's documents and every term they hold.
      if (s.flopsWeight > 0) {
        const mean = new Map<number, number>();
        for (const d of batch) {
          for (let i = start[d]; i < start[d + 1]; i++) {
            mean.set(terms[i], (mean.get(terms[i]) ?? 0) + weightAt(i) / batch.length);
          }
          for (const [t, v] of expansion[d] ?? []) {
            mean.set(t, (mean.get(t) ?? 0) + Math.max(0, v) / batch.length);
          }
        }
        for (const d of batch) {
          for (let i = start[d]; i < start[d + 1]; i++) {
            if (weightAt(i) <= 0) continue;
            const grad = (2 * s.flopsWeight * mean.get(terms[i])!) /
              (batch.length * Math.max(idf[terms[i]], 0.1));
            delta[i] -= s.learningRate * grad;
          }
          const m = expansion[d];
          if (m) {
            for (const [t, v] of m) {
              const grad = (2 * s.flopsWeight * mean.get(t)!) /
                (batch.length * Math.max(idf[t], 0.1));
              m.set(t, Math.max(0, v - s.learningRate * grad));
            }
          }
        }
      }
    }
    trainLoss.push(lossSum / Math.max(1, order.length));
  }
  // Final sparse weights, document-major, dropping those under minWeight.
  const outStart = new Int32Array(numDocs + 1);
  const outTerms: number[] = [];
  const outWeights: number[] = [];
  let expansionTerms = 0;
  for (let d = 0; d < numDocs; d++) {
    const row = new Map<number, number>();
    for (let i = start[d]; i < start[d + 1]; i++) row.set(terms[i], weightAt(i));
    for (const [t, v] of expansion[d] ?? []) {
      if (v >= s.minWeight && !row.has(t)) {
        row.set(t, v);
        expansionTerms++;
      }
    }
    for (const t of [...row.keys()].sort((a, b) => a - b)) {
      const v = row.get(t)!;
      if (v >= s.minWeight) {
        outTerms.push(t);
        outWeights.push(v);
      }
    }
    outStart[d + 1] = outTerms.length;
  }
  return {
    start: outStart,
    terms: Int32Array.from(outTerms),
    weights: Float32Array.from(outWeights),
    alpha,
    expansionTerms,
    trainLoss,
  };
}

/** Values of α tried on held-out train queries. */
const EARLY_GRID = [0, 0.5, 1, 2, 4];

/**
 * The early-position coefficient with the best MRR@10 on `held` (a 5% hash-slice of the train
 * queries), the other weights untrained. Ties go to the smaller value.
 */
function chooseEarlyWeight(
  lists: PostingLists,
  features: { docs: DocumentFeatures; idf: Float64Array; held: readonly TrainQueryTerms[] },
): number {
  const { offsets, docs } = lists;
  const { idf, held } = features;
  const { start, base, early } = features.docs;
  if (held.length === 0) return 0;
  // Posting i of the term-major lists ↔ its slot in the document-major arrays.
  const slot = new Int32Array(docs.length);
  const fill = start.slice(0, start.length - 1);
  for (let t = 0; t + 1 < offsets.length; t++) {
    for (let i = offsets[t]; i < offsets[t + 1]; i++) slot[i] = fill[docs[i]]++;
  }
  let best = 0;
  let bestMrr = -1;
  for (const a of EARLY_GRID) {
    const index = buildImpactIndex(lists, (_t, i) => base[slot[i]] + a * early[slot[i]]);
    let mrr = 0;
    for (const q of held) {
      const known = Int32Array.from(q.terms.filter((t) => t < offsets.length - 1));
      const r = blockMaxWandTopK(index, {
        terms: known,
        weights: Float64Array.from(known, (t) => idf[t] * q.counts[q.terms.indexOf(t)]),
        priorWeight: 0,
      }, 10);
      const rank = [...r.docs].findIndex((d) => q.relevant.includes(d));
      if (rank >= 0) mrr += 1 / (rank + 1);
    }
    if (mrr > bestMrr) {
      bestMrr = mrr;
      best = a;
    }
  }
  return best;
}

async function buildLearned(
  corpus: Corpus,
  params: LearnedSparseParams,
  ctx: BuildContext,
): Promise<RetrievalIndex> {
  const { k1, b } = params;
  const analyzer = await analyzerFor(params);
  const postings = buildPostings(corpus, analyzer);
  const forward = forwardIndex(postings);
  const numDocs = postings.numDocs;
  // Vocabulary: the corpus's terms, then words only train queries use (df 0, the largest idf).
  const vocab = new Map(postings.vocab);
  const termsList = postings.terms.slice();
  const idOf = (term: string) => {
    let id = vocab.get(term);
    if (id === undefined) {
      id = termsList.length;
      vocab.set(term, id);
      termsList.push(term);
    }
    return id;
  };
  const toQuery = (text: string, grow: boolean) => {
    const counts = new Map<number, number>();
    for (const term of analyzer.terms(text)) {
      const id = grow ? idOf(term) : vocab.get(term);
      if (id !== undefined) counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    const ids = Int32Array.from(counts.keys()).sort();
    return { terms: ids, counts: Float64Array.from(ids, (t) => counts.get(t)!) };
  };
  const train = ctx.train.map((q: TrainingQuery) => ({
    id: q.id,
    ...toQuery(q.text, true),
    relevant: q.relevant,
  }));
  const idf = Float64Array.from(
    { length: termsList.length },
    (_, t) => luceneIdf(numDocs, t < postings.terms.length ? postings.df(t) : 0),
  );
  // Shared features per (doc, term): BM25's tf part and whether the term is among the first tokens.
  const avg = postings.avgDocLen || 1;
  const base = new Float64Array(forward.terms.length);
  const early = new Uint8Array(forward.terms.length);
  for (let d = 0; d < numDocs; d++) {
    const norm = k1 * (1 - b + (b * postings.docLen[d]) / avg);
    const first = new Set(analyzer.terms(corpus.texts[d]).slice(0, EARLY_TOKENS));
    for (let i = forward.start[d]; i < forward.start[d + 1]; i++) {
      base[i] = forward.tfs[i] / (forward.tfs[i] + norm);
      if (first.has(postings.terms[forward.terms[i]])) early[i] = 1;
    }
  }
  // Hard negatives: BM25's top documents for each train query (BM25 = the untrained model).
  const bm25Index = buildImpactIndex(postings, (t, i) => {
    const d = postings.docs[i];
    const tf = postings.tfs[i];
    return idf[t] * tf / (tf + k1 * (1 - b + (b * postings.docLen[d]) / avg));
  });
  const negativesOf = (qi: number) => {
    const q = train[qi];
    const known = q.terms.filter((t) => t < postings.terms.length);
    const known2 = Int32Array.from(known);
    return blockMaxWandTopK(bm25Index, {
      terms: known2,
      weights: Float64Array.from(known2, (t) => q.counts[q.terms.indexOf(t)]),
      priorWeight: 0,
    }, params.negatives).docs;
  };
  const negatives = train.map((_, qi) => negativesOf(qi));
  const features: DocumentFeatures = { start: forward.start, terms: forward.terms, base, early };
  const settings: LearnedSparseSettings = {
    ...params,
    earlyWeight: chooseEarlyWeight(postings, {
      docs: features,
      idf,
      held: train.filter((q) => hashString(q.id) % 20 === 0),
    }),
  };
  const model = trainLearnedSparse(settings, {
    docs: features,
    idf,
    train,
    negativesOf: (qi) => negatives[qi],
    seed: ctx.seed,
  });
  // Term-major impact index of the learned weights.
  const nTerms = termsList.length;
  const offsets = new Int32Array(nTerms + 1);
  for (const t of model.terms) offsets[t + 1]++;
  for (let t = 0; t < nTerms; t++) offsets[t + 1] += offsets[t];
  const fill = offsets.slice(0, nTerms);
  const docs = new Int32Array(model.terms.length);
  const weights = new Float32Array(model.terms.length);
  for (let d = 0; d < numDocs; d++) {
    for (let i = model.start[d]; i < model.start[d + 1]; i++) {
      const at = fill[model.terms[i]]++;
      docs[at] = d;
      weights[at] = model.weights[i];
    }
  }
  const index = buildImpactIndex({ numDocs, offsets, docs }, (_t, i) => weights[i]);
  const query = (text: string): WeightedQuery => {
    const q = toQuery(text, false);
    return {
      terms: q.terms,
      weights: Float64Array.from(q.terms, (t, i) => idf[t] * q.counts[i]),
      priorWeight: 0,
    };
  };
  const idfBytes = idf.byteLength;
  return {
    search: (text, k) => blockMaxWandTopK(index, query(text), k),
    reference: {
      description: "term-at-a-time accumulation over the learned weights, then a full sort",
      search: (text, k) => termAtATimeReference(index, query(text), k),
      maxQueries: null,
      scoreTolerance: 0,
    },
    sizeBytes: impactIndexBytes(index) + vocabBytes(termsList) + idfBytes,
    stats: {
      nonzeros_per_doc: model.terms.length / Math.max(1, numDocs),
      bm25_nonzeros_per_doc: postings.docs.length / Math.max(1, numDocs),
      analysis_ms: postings.analysisMs,
      expansion_terms: model.expansionTerms,
      alpha_tf: model.alpha[0],
      alpha_early: model.alpha[1],
      train_queries: train.length,
      final_train_loss: model.trainLoss[model.trainLoss.length - 1] ?? 0,
    },
    config: { analyzer: analyzer.name, algorithm: "block-max-wand", ...settings },
    dispose() {},
  };
}

export const learnedSparse = defineRetrievalMethod({
  id: "learned-sparse-idf",
  family: "retrieval",
  title: "Inference-free learned sparse (linear document encoder stand-in)",
  fidelity: {
    level: "stand-in",
    reason:
      "the paper's transformer document encoder is replaced by BM25 tf features with learned per-term scales and residuals; no distillation",
  },
  description:
    "Document-side term weights, expansion terms included, learned on the collection's train queries (softmax cross-entropy against BM25 hard negatives, IDF-aware FLOPS penalty); queries are their tokens weighted by IDF, with no model at query time. Searched by Block-Max WAND over the learned impacts.",
  paper: {
    title: "Towards Competitive Search Relevance For Inference-Free Learned Sparse Retrievers",
    year: 2024,
    link: "https://arxiv.org/abs/2411.04403",
  },
  version: "1.0.0",
  parameters: LEARNED_SPARSE_PARAMS,
  capabilities: { requires: [], features: ["exact-top-k"] },
  notes:
    "No transformer: the document encoder is BM25's tf saturation plus an early-position feature (its weight chosen on a 5% hash-slice of the train queries), a learned per-term scale shared by all documents, and a learned sparse residual of the train queries' relevant documents (expansions included); no distillation from dense/sparse teachers (the paper's second contribution). The IDF-aware FLOPS form here, λ Σ_t mean_d(w)² / idf(t) over each training batch, is our reading of the paper's idea; at the default λ it barely changes non-zeros per document (it only touches documents that appear in training batches).",
  impl: { build: buildLearned },
});
