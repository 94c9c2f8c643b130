import { assert, assertAlmostEquals, assertEquals } from "../../../tests/assert.ts";
import { mulberry32 } from "../../random.ts";
import {
  ALGORITHMS,
  bm25Scorer,
  buildPostings,
  type Corpus,
  createAnalyzer,
  exhaustiveTopK,
  impactIndexFromPostings,
  luceneIdf,
  queryTerms,
  seek,
  termAtATimeReference,
  TOP_K,
  TopK,
  type WeightedQuery,
} from "./mod.ts";

/** Zipf-ish words over a small vocabulary, so lists are long, short, and scores often tie. */
function randomCorpus(seed: number, docs: number, vocab: number): Corpus {
  const u = mulberry32(seed);
  const word = () => `w${Math.floor(vocab * u() ** 2.5)}`;
  const texts = Array.from({ length: docs }, () => {
    const len = 1 + Math.floor(u() * 12);
    return Array.from({ length: len }, word).join(" ");
  });
  return { ids: texts.map((_, i) => `d${i}`), texts };
}

Deno.test("seek() finds the first posting at or after the target", () => {
  const docs = Int32Array.from([1, 3, 5, 7, 9, 11, 13, 15, 17]);
  for (let target = 0; target <= 18; target++) {
    for (let lo = 0; lo <= docs.length; lo++) {
      let expected = lo;
      while (expected < docs.length && docs[expected] < target) expected++;
      assertEquals(seek(docs, lo, docs.length, target), expected);
    }
  }
});

Deno.test("TopK keeps the k best, ties by lower doc number", () => {
  const heap = new TopK(3);
  for (const [s, d] of [[1, 5], [2, 4], [2, 9], [0.5, 1], [2, 1], [1, 0]]) heap.push(s, d);
  const r = heap.ranking(0);
  assertEquals([...r.docs], [1, 4, 9]);
  assertEquals([...r.scores], [2, 2, 2]);
});

Deno.test("MaxScore, WAND and Block-Max WAND return exhaustive's exact top-k on random corpora", async () => {
  const analyzer = await createAnalyzer({ stem: false, stopwords: "none" });
  for (const seed of [1, 2, 3]) {
    const corpus = randomCorpus(seed, 1500 + seed * 97, 300);
    const postings = buildPostings(corpus, analyzer);
    const scorer = bm25Scorer(postings, { k1: 0.9, b: 0.4 });
    const index = impactIndexFromPostings(postings, scorer.impact, { blockSize: 8 });
    const u = mulberry32(seed * 31);
    for (let qi = 0; qi < 60; qi++) {
      const text = Array.from(
        { length: 1 + Math.floor(u() * 6) },
        () => `w${Math.floor(300 * u() ** 2)}`,
      ).join(" ");
      const q = queryTerms(postings, analyzer, text);
      const query: WeightedQuery = {
        terms: q.terms,
        weights: Float64Array.from(q.counts),
        priorWeight: 0,
      };
      for (const k of [1, 10, 100]) {
        const ref = termAtATimeReference(index, query, k);
        for (const algorithm of ALGORITHMS) {
          const got = TOP_K[algorithm](index, query, k);
          assertEquals([...got.docs], [...ref.docs], `${algorithm} seed ${seed} k ${k} '${text}'`);
          assertEquals([...got.scores], [...ref.scores]);
          assert(got.postingsScored <= ref.postingsScored);
        }
      }
    }
  }
});

Deno.test("exhaustive scoring adds the document prior of query likelihood", async () => {
  const analyzer = await createAnalyzer({ stem: false, stopwords: "none" });
  const corpus = { ids: ["a", "b", "c"], texts: ["x y", "x", "y y z"] };
  const postings = buildPostings(corpus, analyzer);
  const index = impactIndexFromPostings(postings, (_t, tf) => tf, {
    docPrior: Float32Array.from([-1, -0.5, -2]),
  });
  const x = postings.vocab.get("x")!;
  const r = exhaustiveTopK(index, {
    terms: Int32Array.of(x),
    weights: Float64Array.of(1),
    priorWeight: 2,
  }, 10);
  assertEquals([...r.docs], [1, 0]);
  assertEquals([...r.scores], [0, -1]);
});

Deno.test("bm25Scorer() gives Lucene's BM25 for a hand-computed posting", async () => {
  const corpus = {
    ids: ["a", "b", "c", "d"],
    texts: ["red apple red", "green apple", "red car fast car", "blue sky"],
  };
  const postings = buildPostings(corpus, await createAnalyzer({ stem: false, stopwords: "none" }));
  const s = bm25Scorer(postings, { k1: 1.2, b: 0.75 });
  const red = postings.vocab.get("red")!;
  // N=4, df(red)=2: idf = ln(1 + 2.5/2.5) = ln 2; doc 0: tf 2, dl 3, avgdl 11/4.
  const norm = 1.2 * (1 - 0.75 + (0.75 * 3) / (11 / 4));
  assertAlmostEquals(s.impact(red, 2, 0), (Math.log(2) * 2) / (2 + norm), 1e-12);
  assertAlmostEquals(luceneIdf(4, 2), Math.log(2), 1e-15);
});
