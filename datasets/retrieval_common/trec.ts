// TREC formats, so every collection and run can be checked with trec_eval.
import type { Corpus, Ranking } from "../../bench/families/retrieval/mod.ts";
import type { JudgedQuery } from "./collection.ts";

/** Topics as `qid<TAB>text` lines (tabs and newlines in the text become spaces). */
export function topicsText(queries: readonly JudgedQuery[]): string {
  return queries.map((q) => `${q.id}\t${q.text.replace(/\s+/g, " ")}\n`).join("");
}

/** Judgments as `qid 0 docno 1` lines. */
export function qrelsText(queries: readonly JudgedQuery[], corpus: Corpus): string {
  return queries.flatMap((q) => q.relevant.map((d) => `${q.id} 0 ${corpus.ids[d]} 1\n`)).join("");
}

/**
 * A run as `qid Q0 docno rank score tag` lines. trec_eval re-sorts by score (ties by docno,
 * descending), so tied scores may be ordered differently there than here.
 */
export function runText(
  queries: readonly JudgedQuery[],
  rankings: readonly Ranking[],
  corpus: Corpus,
  tag: string,
): string {
  const lines: string[] = [];
  queries.forEach((q, i) => {
    const r = rankings[i];
    for (let j = 0; j < r.docs.length; j++) {
      lines.push(`${q.id} Q0 ${corpus.ids[r.docs[j]]} ${j + 1} ${r.scores[j]} ${tag}\n`);
    }
  });
  return lines.join("");
}
