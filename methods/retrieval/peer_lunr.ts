// Peer: Lunr (npm lunr 2.3.9) with its default English pipeline (trimmer, stopwords, stemmer).
import {
  defineRetrievalMethod,
  plainWords,
  rankingFrom,
  serializedBytes,
} from "../../bench/families/retrieval/mod.ts";

// The few parts of lunr's API used here (the package ships no types).
interface LunrBuilder {
  ref(name: string): void;
  field(name: string): void;
  add(doc: Record<string, string>): void;
}
interface LunrIndex {
  query(build: (q: { term(term: string, options: object): void }) => void): {
    ref: string;
    score: number;
  }[];
}
type Lunr = (config: (this: LunrBuilder, builder: LunrBuilder) => void) => LunrIndex;

const CONFIG = {
  library: "lunr@2.3.9",
  fields: "text",
  pipeline: "default: trimmer, stopWordFilter, stemmer (index); stemmer (search)",
  query: "programmatic Query#term per word (OR), so user text is never parsed as query syntax",
  scoring: "library default BM25 (k1=1.2, b=0.75)",
};

export const peerLunr = defineRetrievalMethod({
  id: "peer-lunr",
  family: "retrieval",
  title: "Lunr (peer)",
  fidelity: {
    level: "peer",
    reason: "npm lunr with its default pipeline, run as a plain user would",
  },
  description:
    "npm lunr 2.3.9 with its default pipeline; each query word becomes an optional term through the Query API, as its docs advise for user input.",
  paper: {
    title: "Lunr: a bit like Solr, but much smaller and not as bright",
    year: 2011,
    link: "https://lunrjs.com/",
  },
  version: "1.0.0",
  parameters: {},
  capabilities: { requires: [], features: [] },
  notes: `Configuration: ${
    JSON.stringify(CONFIG)
  }. Index size is its JSON serialization (UTF-16 bytes).`,
  impl: {
    async build(corpus) {
      const lunr = (await import("lunr")).default as unknown as Lunr;
      const index = lunr(function () {
        this.ref("id");
        this.field("text");
        corpus.texts.forEach((text, id) => this.add({ id: String(id), text }));
      });
      return {
        search(query, k) {
          const words = plainWords(query);
          if (words.length === 0) return rankingFrom([], k);
          const hits = index.query((q) => {
            for (const w of words) q.term(w, {});
          });
          return rankingFrom(hits.map((h) => [Number(h.ref), h.score] as const), k);
        },
        reference: null,
        sizeBytes: serializedBytes(JSON.stringify(index)),
        stats: {},
        config: CONFIG,
        dispose() {},
      };
    },
  },
});
