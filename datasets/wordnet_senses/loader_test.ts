import { assert, assertEquals } from "../../tests/assert.ts";
import { collectionFromSynsets, loadWordnetSenses, parseDataLine } from "./loader.ts";

const CHOKE =
  '00002724 29 v 01 choke 0 002 @ 00001740 v 0000 + 14081734 n 0101 01 + 02 00 | breathe with great difficulty, as when experiencing a strong emotion; "She choked with emotion when she spoke about her deceased husband"  ';
const FLOOD =
  '07417630 11 n 03 flood_tide 0 flood 0 rising_tide 0 002 @ 07417119 n 0000 ! 07416993 n 0101 | the occurrence of incoming water (between a low tide and the following high tide); "a tide in the affairs of men which, taken at the flood, leads on to fortune" -Shakespeare  ';
const ADJ =
  '00004413 00 s 02 abaxial(a) 0 dorsal 0 002 & 00004296 a 0000 ;c 06037666 n 0000 | facing away from the axis of an organ or organism; "the abaxial surface of a leaf is the underside"; "the dorsal surface"  ';

Deno.test("parseDataLine() renders lemmas and gloss and takes quoted examples as queries", () => {
  assertEquals(parseDataLine(CHOKE, "v"), {
    id: "v00002724",
    text: "choke: breathe with great difficulty, as when experiencing a strong emotion",
    examples: ["She choked with emotion when she spoke about her deceased husband"],
  });
  const flood = parseDataLine(FLOOD, "n")!;
  assertEquals(
    flood.text,
    "flood tide, flood, rising tide: the occurrence of incoming water (between a low tide and the following high tide)",
  );
  assertEquals(flood.examples.length, 1);
  const adj = parseDataLine(ADJ, "a")!;
  assertEquals(adj.text, "abaxial, dorsal: facing away from the axis of an organ or organism");
  assertEquals(adj.examples, [
    "the abaxial surface of a leaf is the underside",
    "the dorsal surface",
  ]);
  assertEquals(parseDataLine("  1 This software and database is being provided", "n"), null);
});

Deno.test("collectionFromSynsets() merges a sentence shared by synsets into one query", () => {
  const c = collectionFromSynsets([
    { id: "n1", text: "a: x", examples: ["same words", "only a"] },
    { id: "n2", text: "b: y", examples: ["same words"] },
  ]);
  const all = [...c.train, ...c.test];
  assertEquals(all.length, 2);
  assertEquals(all.find((q) => q.text === "same words")!.relevant, [0, 1]);
  assertEquals(c.facts.merged_duplicate_examples, 1);
});

Deno.test("loadWordnetSenses() checks the pinned files and splits 80/20 by query id", async () => {
  const c = await loadWordnetSenses();
  assertEquals(c.corpus.ids.length, 117_791);
  assertEquals(c.facts.example_sentences, 48_571);
  const share = c.test.length / (c.test.length + c.train.length);
  assert(share > 0.19 && share < 0.21, `test share ${share}`);
  assertEquals(c.test[0].id, "n00003553-1");
});
