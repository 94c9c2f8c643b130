// Peer: wink-bm25-text-search (npm 3.1.2) with the prep pipeline its README shows.
import {
  defineRetrievalMethod,
  rankingFrom,
  serializedBytes,
} from "../../bench/families/retrieval/mod.ts";

const CONFIG = {
  library: "wink-bm25-text-search@3.1.2 + wink-nlp-utils@2.1.0",
  fldWeights: "{ body: 1 }",
  bm25Params: "library defaults (k1=1.2, b=0.75, k=1)",
  prepTasks:
    "lowerCase, tokenize0, removeWords (wink stopwords), stem (Porter), propagateNegations (README example)",
};

export const peerWinkBm25 = defineRetrievalMethod({
  id: "peer-wink-bm25",
  family: "retrieval",
  title: "wink-bm25-text-search (peer)",
  fidelity: {
    level: "peer",
    reason: "npm wink-bm25-text-search with its README's pipeline, run as a plain user would",
  },
  description:
    "npm wink-bm25-text-search 3.1.2 over one body field, with the README's wink-nlp-utils preparation pipeline (lower-case, tokenize, stopwords, stem, negations).",
  paper: {
    title: "wink-bm25-text-search: fast full text search based on BM25",
    year: 2017,
    link: "https://github.com/winkjs/wink-bm25-text-search",
  },
  version: "1.0.0",
  parameters: {},
  capabilities: { requires: [], features: [] },
  notes: `Configuration: ${JSON.stringify(CONFIG)}. Index size is its exportJSON() (UTF-16 bytes).`,
  impl: {
    async build(corpus) {
      const { default: bm25 } = await import("wink-bm25-text-search");
      const { default: nlp } = await import("wink-nlp-utils");
      const engine = bm25();
      engine.defineConfig({ fldWeights: { body: 1 } });
      engine.definePrepTasks([
        nlp.string.lowerCase,
        nlp.string.tokenize0,
        nlp.tokens.removeWords,
        nlp.tokens.stem,
        nlp.tokens.propagateNegations,
      ]);
      corpus.texts.forEach((text, id) => engine.addDoc({ body: text }, id));
      engine.consolidate();
      return {
        search: (query, k) =>
          rankingFrom(
            (engine.search(query, k) as [string, number][]).map(([id, s]) =>
              [Number(id), s] as const
            ),
            k,
          ),
        reference: null,
        sizeBytes: serializedBytes(engine.exportJSON()),
        stats: {},
        config: CONFIG,
        dispose() {},
      };
    },
  },
});
