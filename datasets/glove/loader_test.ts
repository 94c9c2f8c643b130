import { assert, assertEquals } from "../../tests/assert.ts";
import { GLOVE_DIM, loadGloveVocabulary, parseLeadingVectors } from "./loader.ts";

Deno.test("parseLeadingVectors() reads entries in order, with escaped words", () => {
  const row = (x: number) => [...Array(GLOVE_DIM).fill(x), 1, 0].join(",");
  const text = `{"words":["a"],"vectors":{"the":[${row(1)}],"\\"":[${row(2)}],"of":[${
    row(3)
  }]},"unkVector":[]}`;
  const { words, vectors } = parseLeadingVectors(new TextEncoder().encode(text), 2);
  assertEquals(words, ["the", '"']);
  assertEquals([vectors[0], vectors[GLOVE_DIM], vectors.length], [1, 2, 2 * GLOVE_DIM]);
});

Deno.test("loadGloveVocabulary() returns the most frequent words with real GloVe geometry", async () => {
  const vocabulary = await loadGloveVocabulary(2000);
  assertEquals(vocabulary.words.slice(0, 4), ["the", ",", ".", "of"]);
  const at = (w: string) =>
    vocabulary.vectors.subarray(
      vocabulary.words.indexOf(w) * GLOVE_DIM,
      (vocabulary.words.indexOf(w) + 1) * GLOVE_DIM,
    );
  const cosine = (a: Float32Array, b: Float32Array) => {
    let ab = 0, aa = 0, bb = 0;
    for (let i = 0; i < a.length; i++) {
      [ab, aa, bb] = [ab + a[i] * b[i], aa + a[i] * a[i], bb + b[i] * b[i]];
    }
    return ab / Math.sqrt(aa * bb);
  };
  // Related words sit closer than unrelated ones: the vectors are real, not noise.
  assert(cosine(at("king"), at("queen")) > cosine(at("king"), at("percent")) + 0.2);
});
