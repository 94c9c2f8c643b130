import { assertEquals, assertRejects } from "../tests/assert.ts";
import { TimeoutError, withTimeout } from "./timeout.ts";

Deno.test("withTimeout() passes a prompt result through and times out a stuck one", async () => {
  assertEquals(await withTimeout(Promise.resolve(3), 50, "x"), 3);
  await assertRejects(
    () => withTimeout(new Promise(() => {}), 20, "stuck step"),
    TimeoutError,
    "stuck step ran past",
  );
});
