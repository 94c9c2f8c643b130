import { assertRejects } from "../tests/assert.ts";
import { exportTrec } from "./export_trec.ts";

Deno.test("exportTrec() names the valid collections and methods before writing anything", async () => {
  const out = await Deno.makeTempDir();
  try {
    await assertRejects(
      () => exportTrec({ collection: "nope", out }),
      Error,
      "expected one of wordnet-senses, spam-known-item",
    );
    await assertRejects(
      () => exportTrec({ collection: "spam-known-item", out, methods: ["bm26"] }),
      Error,
      "Unknown retrieval method 'bm26': expected one of bm25,",
    );
    for await (const _ of Deno.readDir(out)) throw new Error("wrote a file");
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});
