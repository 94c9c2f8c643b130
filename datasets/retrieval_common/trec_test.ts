import { assertEquals } from "../../tests/assert.ts";
import { qrelsText, runText, topicsText } from "./trec.ts";

const corpus = { ids: ["d0", "d1", "d2"], texts: ["a", "b", "c"] };
const queries = [{ id: "q1", text: "two\twords\n", relevant: [2, 0] }];

Deno.test("topicsText(), qrelsText() and runText() write trec_eval's formats", () => {
  assertEquals(topicsText(queries), "q1\ttwo words \n");
  assertEquals(qrelsText(queries, corpus), "q1 0 d2 1\nq1 0 d0 1\n");
  const ranking = { docs: Int32Array.of(1, 2), scores: Float64Array.of(3.5, 1), postingsScored: 0 };
  assertEquals(
    runText(queries, [ranking], corpus, "bm25"),
    "q1 Q0 d1 1 3.5 bm25\nq1 Q0 d2 2 1 bm25\n",
  );
});

Deno.test("runText() writes tied scores in trec_eval's order, docno descending", () => {
  const tied = {
    docs: Int32Array.of(0, 1, 2),
    scores: Float64Array.of(2, 2, 1),
    postingsScored: 0,
  };
  assertEquals(
    runText(queries, [tied], corpus, "t"),
    "q1 Q0 d1 1 2 t\nq1 Q0 d0 2 2 t\nq1 Q0 d2 3 1 t\n",
  );
});
