// TREC formats, so every collection and run can be checked with trec_eval.
import { type Corpus, type Ranking, trecEvalOrder } from "../../bench/families/retrieval/mod.ts";
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
 * A run as `qid Q0 docno rank score tag` lines, each query's ranking in the order trec_eval reads
 * it (score descending, ties by docno descending: {@link trecEvalOrder}), so the rank column
 * says what trec_eval scores. Scores are written in full (shortest round-trip form), so ties in
 * the file are exactly the ties in memory.
 */
export function runText(
  queries: readonly JudgedQuery[],
  rankings: readonly Ranking[],
  corpus: Corpus,
  tag: string,
): string {
  const lines: string[] = [];
  queries.forEach((q, i) => {
    const r = trecEvalOrder(rankings[i], corpus.ids);
    for (let j = 0; j < r.docs.length; j++) {
      lines.push(`${q.id} Q0 ${corpus.ids[r.docs[j]]} ${j + 1} ${r.scores[j]} ${tag}\n`);
    }
  });
  return lines.join("");
}
