// The method page's trend marks a step from a history where every latency rose 30% and stayed.
import { assert, assertStringIncludes } from "../tests/assert.ts";
import { createApp } from "./app.ts";
import { loadAssets } from "./assets.ts";
import { ResultsStore } from "./store.ts";
import { makeRun } from "./testdata/fixture.ts";

Deno.test("the method page's trend marks a step that held, and lists it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sparsebench-steps-" });
  try {
    // Eight nights on one device: five at the old level, then three 30% slower.
    for (let night = 0; night < 8; night++) {
      const run = makeRun({
        runId: `2025-02-0${night + 1}-nightly`,
        startedAt: `2025-02-0${night + 1}T03:17:00.000Z`,
        slowdown: night < 5 ? 1 : 1.3,
        seed: 1 + night,
      });
      await Deno.writeTextFile(`${dir}/${run.runId}.json`, JSON.stringify(run));
    }
    const store = new ResultsStore(dir, { checkIntervalMs: 0, log: () => {} });
    await store.refresh();
    const app = await createApp({ store, submitToken: null, assets: await loadAssets() });
    const body = await (await app.request("/methods/sliding-window")).text();
    assertStringIncludes(body, "Detected steps");
    assertStringIncludes(body, "2025-02-06-nightly");
    const data = JSON.parse(/id="chart-data">(.*?)<\/script>/s.exec(body)![1]);
    const steps = data.series.flatMap((s: { steps: { runId: string; ratio: number }[] }) =>
      s.steps
    );
    assert(
      steps.length > 0 && steps.every((s: { runId: string }) => s.runId === "2025-02-06-nightly"),
    );
    assert(steps.every((s: { ratio: number }) => s.ratio > 1.2 && s.ratio < 1.4));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
