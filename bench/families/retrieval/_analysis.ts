// Text analysis shared by the family's own methods: lower-casing, Unicode word tokens, optional
// English stopwords (npm `stopwords-iso`) and Porter stemming (npm `stemmer`).

/** How text becomes terms. */
export interface AnalyzerOptions {
  stem: boolean;
  stopwords: boolean;
}

/** Turns text into terms. */
export interface Analyzer {
  readonly options: AnalyzerOptions;
  /** A short name such as `stem+stop`, for configs and cache keys. */
  readonly name: string;
  terms(text: string): string[];
}

const WORD = /[\p{L}\p{N}]+/gu;

/** Lower-cased word tokens of `text`: runs of letters and digits ("don't" → don, t). */
export function tokenize(text: string): string[] {
  return text.toLowerCase().match(WORD) ?? [];
}

let stemmerFn: ((word: string) => string) | null = null;
let stopwordSet: ReadonlySet<string> | null = null;

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

/** The English list of `stopwords-iso` (1,298 words in 1.1.0). */
export async function englishStopwords(): Promise<ReadonlySet<string>> {
  if (!stopwordSet) {
    try {
      const mod = await import("stopwords-iso", { with: { type: "json" } });
      stopwordSet = new Set((mod.default as Record<string, string[]>).en);
    } catch (error) {
      throw new Error(
        `Cannot remove stopwords: npm package 'stopwords-iso' (pinned in deno.json) did not load: ${
          (error as Error).message
        }`,
      );
    }
  }
  return stopwordSet;
}

/** The analyzer name for a set of options: `plain`, `stem`, `stop` or `stem+stop`. */
export function analyzerName(options: AnalyzerOptions): string {
  const parts = [options.stem ? "stem" : "", options.stopwords ? "stop" : ""].filter(Boolean);
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
  const stop = options.stopwords ? await englishStopwords() : null;
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
