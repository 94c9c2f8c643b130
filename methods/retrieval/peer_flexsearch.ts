// Peer: FlexSearch (npm flexsearch 0.8.212), preset "score", with suggestions for partial matches.
import { defineRetrievalMethod } from "../../bench/families/retrieval/mod.ts";

const CONFIG = {
  library: "flexsearch@0.8.212",
  index: 'Index({ preset: "score", encoder: new Encoder(EnglishPreset) })',
  encoder:
    "flexsearch/lang/en: English stopword filter and stemmer, as its docs advise for English",
  search: "search(query, { limit: k, suggest: true })",
  scores:
    "not exposed by the library: results are ranked by its own resolution slots; we record k − rank as the score",
};

export const peerFlexSearch = defineRetrievalMethod({
  id: "peer-flexsearch",
  family: "retrieval",
  title: "FlexSearch (peer)",
  fidelity: {
    level: "peer",
    reason: "npm flexsearch with its documented presets, run as a plain user would",
  },
  description:
    "npm flexsearch 0.8.212 Index with the 'score' preset (its profile for the order of results), its English encoder preset (stopwords, stemmer), and suggest: true, so documents matching only some query words are returned too.",
  paper: {
    title: "FlexSearch: next-generation full-text search library",
    year: 2019,
    link: "https://github.com/nextapps-de/flexsearch",
  },
  version: "1.0.0",
  parameters: {},
  capabilities: { requires: [], features: [] },
  notes: `Configuration: ${
    JSON.stringify(CONFIG)
  }. Index size is the byte length of its export() chunks.`,
  impl: {
    async build(corpus) {
      const { Index, Encoder } = await import("flexsearch");
      const { default: EnglishPreset } = await import("flexsearch/lang/en");
      const index = new Index({ preset: "score", encoder: new Encoder(EnglishPreset) });
      corpus.texts.forEach((text, id) => index.add(id, text));
      let bytes = 0;
      await index.export((key: string | number, data: string | null) => {
        bytes += 2 * (String(key).length + (data?.length ?? 0));
      });
      return {
        search(query, k) {
          const ids = index.search(query, { limit: k, suggest: true }) as number[];
          return {
            docs: Int32Array.from(ids),
            scores: Float64Array.from(ids, (_, i) => k - i),
            postingsScored: 0,
          };
        },
        reference: null,
        sizeBytes: bytes,
        stats: {},
        config: CONFIG,
        dispose() {},
      };
    },
  },
});
