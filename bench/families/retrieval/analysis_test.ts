import { assert, assertEquals, assertRejects, assertThrows } from "../../../tests/assert.ts";
import { analyzerName, createAnalyzer, englishStopwords } from "./mod.ts";

Deno.test("englishStopwords(): NLTK's 153 words by default, stopwords-iso's 1,298 on request", async () => {
  const nltk = await englishStopwords();
  const iso = await englishStopwords("iso");
  assertEquals(nltk.size, 153);
  assertEquals(iso.size, 1298);
  for (const w of ["the", "of", "and", "don", "t"]) assert(nltk.has(w), w);
  // Content words stopwords-iso drops and NLTK keeps (the examples).
  for (const w of ["whole", "part", "big", "computer", "area", "value", "good", "turn"]) {
    assert(iso.has(w) && !nltk.has(w), w);
  }
});

Deno.test("the default analyzer keeps a question's content words that stopwords-iso drops", async () => {
  const text = "How big is that part compared to the whole?";
  assertEquals((await createAnalyzer({ stem: false, stopwords: "nltk" })).terms(text), [
    "big",
    "part",
    "compared",
    "whole",
  ]);
  assertEquals((await createAnalyzer({ stem: false, stopwords: "iso" })).terms(text), ["compared"]);
  assertEquals((await createAnalyzer({ stem: false, stopwords: "none" })).terms(text).length, 9);
});

Deno.test("an unknown stopword list is refused by name", async () => {
  assertThrows(
    () => analyzerName({ stem: true, stopwords: "true" }),
    Error,
    "expected one of nltk",
  );
  await assertRejects(() => createAnalyzer({ stem: true, stopwords: "lucene" }), Error, "'lucene'");
  assertEquals(analyzerName({ stem: true, stopwords: "nltk" }), "stem+nltk");
  assertEquals(analyzerName({ stem: false, stopwords: "none" }), "plain");
});
