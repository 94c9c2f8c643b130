import { assertEquals } from "../../tests/assert.ts";
import { cleanBody, collectionFromMessages, normalizeSubject, parseMessage } from "./loader.ts";

Deno.test("parseMessage() unfolds the Subject header and keeps the body after the blank line", () => {
  const m = parseMessage(
    "g-1",
    "From: a@b\nSubject: Hello\n  there\nX-Other: 1\n\n<p>Body &amp; soul</p>\nline two\n",
  );
  assertEquals(m, { id: "g-1", subject: "Hello there", body: "Body & soul \nline two" });
});

Deno.test("cleanBody() drops base64 lines, tags and styles", () => {
  const b64 = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0NTY3";
  assertEquals(cleanBody(`words\n${b64}\n<style>p{}</style><b>bold</b>`), "words\n bold");
});

Deno.test("collectionFromMessages() drops empty and shared subjects and counts them", () => {
  const c = collectionFromMessages([
    { id: "a", subject: "Cheap pills", body: "buy now" },
    { id: "b", subject: "Re: cheap  pills", body: "no thanks" },
    { id: "c", subject: "", body: "no subject" },
    { id: "d", subject: "Meeting", body: "at noon" },
    { id: "e", subject: "Empty", body: "" },
  ]);
  assertEquals(c.facts.dropped_duplicate_subject, 2);
  assertEquals(c.facts.dropped_empty_subject, 1);
  assertEquals(c.facts.dropped_empty_body, 1);
  assertEquals(c.corpus.ids, ["d"]);
  assertEquals([...c.train, ...c.test], [{ id: "d", text: "Meeting", relevant: [0] }]);
  assertEquals(normalizeSubject("RE: Fwd: Hi   there"), "hi there");
});
