import { assert, assertEquals } from "../../tests/assert.ts";
import { peerFlexSearch } from "./peer_flexsearch.ts";
import { peerLunr } from "./peer_lunr.ts";
import { peerMiniSearch } from "./peer_minisearch.ts";
import { peerWinkBm25 } from "./peer_wink_bm25.ts";

const corpus = {
  ids: ["0", "1", "2", "3"],
  texts: [
    "the quick brown fox",
    "lazy dogs sleep all day",
    "a fox and a dog",
    "brown bread recipe",
  ],
};

for (const peer of [peerMiniSearch, peerLunr, peerFlexSearch, peerWinkBm25]) {
  Deno.test(`${peer.meta.id} answers with a well-formed ranking`, async () => {
    const index = await peer.impl.build(corpus, {}, {
      train: [],
      seed: 1,
      corpusKey: "t",
    });
    const r = index.search("quick brown fox?", 2);
    assert(r.docs.length >= 1 && r.docs.length <= 2);
    assertEquals(r.docs[0], 0);
    for (let i = 1; i < r.scores.length; i++) assert(r.scores[i] <= r.scores[i - 1]);
    assert(index.sizeBytes > 0);
    assertEquals(index.reference, null);
    assertEquals(index.search("", 5).docs.length, 0);
  });
}
