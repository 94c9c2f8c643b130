import { assert, assertEquals } from "../../tests/assert.ts";
import { type Collection, collectionSha256, sampleCollection, splitOf } from "./collection.ts";

function tiny(): Collection {
  const n = 50;
  return {
    id: "tiny",
    corpus: {
      ids: Array.from({ length: n }, (_, i) => `d${i}`),
      texts: Array.from({ length: n }, (_, i) => `doc ${i}`),
    },
    train: [{ id: "r1", text: "doc 3", relevant: [3] }, {
      id: "r2",
      text: "doc 40",
      relevant: [40],
    }],
    test: Array.from(
      { length: 10 },
      (_, i) => ({ id: `t${i}`, text: `doc ${i * 5}`, relevant: [i * 5] }),
    ),
    facts: {},
  };
}

Deno.test("splitOf() is deterministic and puts about 20% in test", () => {
  let test = 0;
  for (let i = 0; i < 10_000; i++) if (splitOf(`q${i}`) === "test") test++;
  assert(test > 1800 && test < 2200, `${test}`);
  assertEquals(splitOf("n00003553-1"), "test");
});

Deno.test("sampleCollection() keeps the sampled queries' relevant documents and renumbers", async () => {
  const c = tiny();
  const s = sampleCollection(c, { docs: 12, queries: 4 });
  assertEquals(s.test.length, 4);
  assertEquals(s.corpus.ids.length, 12);
  for (const q of s.test) {
    assertEquals(s.corpus.texts[q.relevant[0]], q.text);
  }
  for (const q of s.train) assertEquals(s.corpus.texts[q.relevant[0]], q.text);
  assertEquals(sampleCollection(c, { docs: 12, queries: 4 }), s);
  assert((await collectionSha256(s)) !== (await collectionSha256(c)));
  assertEquals(sampleCollection(c, { docs: 0, queries: 0 }), c);
});
