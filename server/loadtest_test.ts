import { assert, assertEquals, assertRejects } from "../tests/assert.ts";
import { loadTest } from "./loadtest.ts";

Deno.test({
  name: "loadTest() serves a generated folder on 127.0.0.1 and reports every endpoint",
  sanitizeResources: false,
  async fn() {
    const report = await loadTest({ runs: 20, connections: 4, durationS: 1 });
    assertEquals(report.results.length, 2);
    for (const r of report.results) {
      assertEquals(r.errors, 0);
      assert(r.requests > 0 && r.p99Ms >= r.p50Ms);
    }
  },
});

Deno.test("loadTest() refuses unbounded options", async () => {
  await assertRejects(() => loadTest({ connections: 10_000 }), RangeError);
  await assertRejects(() => loadTest({ durationS: 0 }), RangeError);
});
