import { assertEquals, assertRejects } from "../tests/assert.ts";
import { makeBrowserRun } from "./testdata/browser_run.ts";
import { VerifyError, verifyRun } from "./verify_run.ts";

Deno.test("verifyRun() flips only the verified flag, once", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sparsebench-verify-" });
  try {
    const run = { ...makeBrowserRun("b1"), futureField: 1 };
    await Deno.writeTextFile(`${dir}/b1.json`, JSON.stringify(run));
    assertEquals(await verifyRun(dir, "b1"), true);
    const after = JSON.parse(await Deno.readTextFile(`${dir}/b1.json`));
    assertEquals(after, { ...run, verified: true });
    assertEquals(await verifyRun(dir, "b1"), false);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("verifyRun() refuses a bad id, a missing file and an invalid one", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sparsebench-verify-" });
  try {
    await assertRejects(() => verifyRun(dir, "../etc/passwd"), VerifyError, "not a run id");
    await assertRejects(() => verifyRun(dir, "nope"), VerifyError, "No run file");
    await Deno.writeTextFile(`${dir}/bad.json`, JSON.stringify({ runId: "bad" }));
    await assertRejects(() => verifyRun(dir, "bad"), VerifyError, "not a valid run file");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
