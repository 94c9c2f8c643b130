import { assert, assertEquals, assertStringIncludes } from "../../../tests/assert.ts";
import { checkRankings, type Ranking, sameRanking, wellFormedRanking } from "./mod.ts";

function ranking(docs: number[], scores: number[]): Ranking {
  return { docs: Int32Array.from(docs), scores: Float64Array.from(scores), postingsScored: 1 };
}

Deno.test("sameRanking() allows near-ties to swap only within the tolerance", () => {
  const ref = ranking([4, 2, 7], [3, 2.9999999, 1]);
  assert(sameRanking(ref, ref, { k: 10, tolerance: 0 }));
  const swapped = ranking([2, 4, 7], [3, 2.9999999, 1]);
  assertEquals(sameRanking(swapped, ref, { k: 10, tolerance: 0 }), false);
  assert(sameRanking(ranking([2, 4, 7], [2.9999999, 3, 1]), ref, { k: 10, tolerance: 1e-5 }));
  assert(sameRanking(ranking([4, 2, 9], [3, 2.9999999, 0.5]), ref, { k: 2, tolerance: 0 }));
  assertEquals(sameRanking(ranking([4], [3]), ref, { k: 10, tolerance: 0 }), false);
});

Deno.test("wellFormedRanking() refuses duplicates, out-of-range docs and rising scores", () => {
  assert(wellFormedRanking(ranking([0, 2], [2, 1]), { k: 2, numDocs: 3 }));
  assertEquals(wellFormedRanking(ranking([0, 0], [2, 1]), { k: 2, numDocs: 3 }), false);
  assertEquals(wellFormedRanking(ranking([0, 3], [2, 1]), { k: 2, numDocs: 3 }), false);
  assertEquals(wellFormedRanking(ranking([0, 1], [1, 2]), { k: 2, numDocs: 3 }), false);
  assertEquals(wellFormedRanking(ranking([0, 1, 2], [3, 2, 1]), { k: 2, numDocs: 3 }), false);
});

Deno.test("checkRankings() passes the reference's own answers and names the first mismatch", () => {
  const answers = [ranking([1, 0], [2, 1]), ranking([2], [5])];
  const queries = [{ id: "q1", text: "one" }, { id: "q2", text: "two" }];
  const reference = {
    description: "table",
    search: (text: string) => answers[text === "one" ? 0 : 1],
    maxQueries: null,
    scoreTolerance: 0,
  };
  const ok = checkRankings({
    queries,
    rankings: answers,
    top10: (i) => answers[i],
    numDocs: 3,
    reference,
  });
  assert(ok.check.passed, ok.check.description);
  assertEquals(ok.checked, 2);
  assertEquals(ok.references.length, 2);
  const wrong = [answers[0], ranking([0], [5])];
  const bad = checkRankings({
    queries,
    rankings: wrong,
    top10: (i) => wrong[i],
    numDocs: 3,
    reference,
  });
  assertEquals(bad.check.passed, false);
  assertStringIncludes(bad.check.description, "query q2: top-k differs from the reference (table)");
  const peer = checkRankings({
    queries,
    rankings: wrong,
    top10: (i) => wrong[i],
    numDocs: 3,
    reference: null,
  });
  assert(peer.check.passed);
  assertEquals(peer.checked, 0);
});
