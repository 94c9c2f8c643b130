// The runner page in a real browser (Debian's chromium, headless, WebGPU on SwiftShader): it
// builds the bundle, runs the smoke profile of the attention family's attention-fidelity task,
// checks the run file validates and every cell passed the GPU correctness gate, that nothing is
// sent without consent, and that a consented run is stored unverified and listed on /devices;
// then that picking the MoE family runs routing-recovery's smoke cells on the WebGPU engine
// (checkpoints fetched as pinned assets) with the gate passed; then that onnxruntime-web runs
// spmm-crossover's peer cell from its pinned binary; then that kernels give the browser the same
// outputs as Deno on the same inputs. Ignored, with the reason printed, where /usr/bin/chromium is
// not installed.
import { join } from "node:path";
import type { Page } from "playwright-core";
import { compareWithin, TEST_SHAPES } from "../bench/families/attention/mod.ts";
import { RunFile } from "../bench/results/schema.ts";
import { createApp } from "../server/app.ts";
import { loadAssets } from "../server/assets.ts";
import {
  CHROMIUM,
  hasChromium,
  launchChromium,
  serveLocally,
  WEBGPU_FLAGS,
} from "../server/testdata/chromium.ts";
import { ResultsStore } from "../server/store.ts";
import { assert, assertEquals } from "../tests/assert.ts";
import { testGpu } from "../tests/gpu.ts";
import { ensureRunnerBundle } from "./build.ts";
import { BROWSER_METHODS } from "./capabilities.ts";
import { probeKernel, type ProbeRequest, type ProbeResult } from "./kernel_probe.ts";

const available = hasChromium();
if (!available) {
  console.log(
    `runner browser test skipped: ${CHROMIUM} is not installed (apt-get install chromium)`,
  );
}

// Page-side source text: this module is type-checked without the DOM library.
const RUN_JSON = "JSON.stringify(globalThis.sparsebenchRun)";

/** Ticks exactly the `keep` boxes of the form's `name` choices. */
function only(page: Page, name: string, keep: string[]): Promise<void> {
  return page.locator(`input[name="${name}"]:not([disabled])`).evaluateAll(
    (inputs, keep) =>
      inputs.forEach((i) => {
        const input = i as unknown as { checked: boolean; value: string };
        input.checked = (keep as string[]).includes(input.value);
      }),
    keep,
  );
}

Deno.test({
  name: "the runner page runs a smoke profile on the browser's GPU and sends it only with consent",
  ignore: !available,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const work = await Deno.makeTempDir({ prefix: "sparsebench-runner-" });
    const results = join(work, "runs");
    await Deno.mkdir(results);
    try {
      const bundle = await ensureRunnerBundle();
      console.log(
        `bundle: ${bundle.bytes} bytes, ${
          bundle.ms === 0 ? "current, reused" : `built in ${(bundle.ms / 1000).toFixed(1)} s`
        }`,
      );
      const store = new ResultsStore(results, { checkIntervalMs: 0, log: () => {} });
      await store.refresh();
      const app = await createApp({
        store,
        submitToken: null,
        acceptBrowserRuns: true,
        assets: await loadAssets({ runnerBundle: bundle.path }),
      });
      await using server = await serveLocally((req, info) => app.fetch(req, info));
      await using browser = await launchChromium(WEBGPU_FLAGS);
      const page = browser.context.pages()[0] ?? await browser.context.newPage();
      const problems: string[] = [];
      page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
      page.on("console", (m) => m.type() === "error" && problems.push(`console: ${m.text()}`));
      const posts: string[] = [];
      page.on("request", (r) => r.method() !== "GET" && posts.push(`${r.method()} ${r.url()}`));

      const loadStart = performance.now();
      assertEquals((await page.goto(`${server.url}/run`))?.status(), 200);
      await page.waitForSelector('body[data-run-state="idle"]');
      console.log(`page ready in ${(performance.now() - loadStart).toFixed(0)} ms`);

      await t.step("a smoke run of attention-fidelity passes the gate in every cell", async () => {
        await page.locator('input[name="task"]:not([value="attention-fidelity"])').evaluateAll(
          (inputs) =>
            inputs.forEach((i) => ((i as unknown as { checked: boolean }).checked = false)),
        );
        // onnxruntime-web's peers have a step of their own below (their binaries are 14–27 MB).
        await page.locator('input[name="method"][value^="ort-"]').evaluateAll((inputs) =>
          inputs.forEach((i) => ((i as unknown as { checked: boolean }).checked = false))
        );
        const runStart = performance.now();
        await page.click("#start");
        await page.waitForSelector(
          'body[data-run-state="done"], body[data-run-state="error"]',
          { timeout: 300_000 },
        );
        console.log(`smoke run in ${((performance.now() - runStart) / 1000).toFixed(1)} s`);
        assertEquals(await page.locator("#run-error").textContent(), "");
        const run = RunFile.parse(JSON.parse(await page.evaluate<string>(RUN_JSON)));
        assertEquals(run.source, "browser");
        assertEquals(run.verified, false);
        assertEquals(run.profile, "smoke");
        assert(run.cells.length >= 10, `${run.cells.length} cells`);
        assert(run.cells.every((c) => c.task.id === "attention-fidelity"));
        for (const cell of run.cells) {
          assertEquals(cell.status, "ok", `${cell.method.id}: ${cell.error}`);
          assert(cell.check?.passed, `${cell.method.id}: the gate did not pass`);
        }
        const gpu = run.environment.gpu!;
        assertEquals(gpu.description, "", "the adapter's description is never recorded");
        assertEquals(run.cells[0].latency?.source, gpu.timestampQuery ? "gpu-timestamp" : "wall");
        assertEquals(run.browser?.osFamily, "linux");
        assert(run.browser!.majorVersion > 100, JSON.stringify(run.browser));
        assertEquals(run.browser!.crossOriginIsolated, true);
        const [download] = await Promise.all([
          page.waitForEvent("download"),
          page.click("#download"),
        ]);
        const saved = JSON.parse(await Deno.readTextFile(await download.path()));
        assertEquals(saved, JSON.parse(JSON.stringify(run)));
      });

      await t.step("nothing is sent until the consent box is ticked", async () => {
        assertEquals(await page.locator("#submit").isDisabled(), true);
        await page.locator("#submit").click({ force: true });
        await page.waitForTimeout(300);
        assertEquals(posts, []);
        assertEquals([...Deno.readDirSync(results)].length, 0);
      });

      await t.step("a consented run is stored unverified and listed on /devices", async () => {
        await page.check("#consent");
        await page.click("#submit");
        await page.waitForSelector("#submit-status[data-status]");
        assertEquals(await page.locator("#submit-status").getAttribute("data-status"), "201");
        assertEquals(posts, [`POST ${server.url}/api/runs`]);
        const run = RunFile.parse(JSON.parse(await page.evaluate<string>(RUN_JSON)));
        const stored = await (await app.request(`/api/runs/${run.runId}`)).json();
        assertEquals(stored.verified, false);
        assertEquals(stored.source, "browser");
        const devices = await (await app.request("/devices")).text();
        assert(devices.includes("google swiftshader · HeadlessChrome"), "device listed");
        await page.goto(`${server.url}/devices`);
        const dir = Deno.env.get("SPARSEBENCH_ARTIFACTS") ?? "tmp/artifacts";
        await Deno.mkdir(dir, { recursive: true });
        await page.screenshot({ path: `${dir}/devices_page.png`, fullPage: true });
        await page.goto(`${server.url}/run`);
      });

      await t.step(
        "picking MoE runs routing-recovery on the GPU from pinned checkpoints",
        async () => {
          await page.waitForSelector('body[data-run-state="idle"]');
          await only(page, "family", ["moe"]);
          await only(page, "task", ["routing-recovery"]);
          // Two gates beside the baseline (which always runs): a few seconds on SwiftShader.
          await only(page, "method", ["topk-softmax", "switch"]);
          await page.fill("#params", "engine=webgpu");
          const runStart = performance.now();
          await page.click("#start");
          await page.waitForSelector(
            'body[data-run-state="done"], body[data-run-state="error"]',
            { timeout: 120_000 },
          );
          console.log(`MoE smoke run in ${((performance.now() - runStart) / 1000).toFixed(1)} s`);
          assertEquals(await page.locator("#run-error").textContent(), "");
          const run = RunFile.parse(JSON.parse(await page.evaluate<string>(RUN_JSON)));
          assertEquals(run.options.params, { engine: ["webgpu"] });
          assertEquals(
            run.cells.map((c) => c.method.id).sort(),
            ["dense-mixture", "switch", "topk-softmax"],
          );
          for (const cell of run.cells) {
            assertEquals(cell.task.id, "routing-recovery");
            assertEquals(cell.task.case.engine, "webgpu");
            assertEquals(cell.status, "ok", `${cell.method.id}: ${cell.error}`);
            assert(cell.check?.passed, `${cell.method.id}: the gate did not pass`);
            assert(cell.metrics.ari > 0, `${cell.method.id}: ari ${cell.metrics.ari}`);
          }
          const gpu = run.environment.gpu!;
          assertEquals(run.cells[0].latency?.source, gpu.timestampQuery ? "gpu-timestamp" : "wall");
          await page.goto(`${server.url}/run`);
        },
      );

      await t.step(
        "onnxruntime-web runs in the page from its pinned binary, through the gate",
        async () => {
          await page.waitForSelector('body[data-run-state="idle"]');
          await only(page, "family", ["pruning"]);
          await only(page, "task", ["spmm-crossover"]);
          await only(page, "method", ["spmm-onnxruntime"]);
          const runStart = performance.now();
          await page.click("#start");
          await page.waitForSelector(
            'body[data-run-state="done"], body[data-run-state="error"]',
            { timeout: 120_000 },
          );
          console.log(
            `spmm-onnxruntime smoke run in ${((performance.now() - runStart) / 1000).toFixed(1)} s`,
          );
          assertEquals(await page.locator("#run-error").textContent(), "");
          const run = RunFile.parse(JSON.parse(await page.evaluate<string>(RUN_JSON)));
          const ort = run.cells.filter((c) => c.method.id === "spmm-onnxruntime");
          assert(ort.length > 0, "no spmm-onnxruntime cell");
          for (const cell of run.cells) {
            assertEquals(cell.status, "ok", `${cell.method.id}: ${cell.error}`);
            assert(cell.check?.passed, `${cell.method.id}: the gate did not pass`);
          }
          await page.goto(`${server.url}/run`);
        },
      );

      await t.step({
        name: "kernels give the browser the same outputs as Deno on the same inputs",
        ignore: testGpu === null,
        async fn() {
          await page.waitForSelector('body[data-run-state="idle"]');
          // Odd prefill and decoding shapes at head dim 64 (SwiftShader compiles each head
          // dim's kernels anew: d = 128 took 30 s there).
          const cases: ProbeRequest[] = [
            { methodId: "dense-attention", shape: TEST_SHAPES[3], seed: 11 },
            { methodId: "sliding-window-attention", shape: TEST_SHAPES[5], seed: 13 },
            { methodId: "block-topk-attention", shape: TEST_SHAPES[4], seed: 14 },
          ];
          for (const request of cases) {
            const t0 = performance.now();
            const inBrowser = await page.evaluate<ProbeResult>(
              `globalThis.sparsebenchKernelProbe(${JSON.stringify(request)})`,
            );
            const t1 = performance.now();
            const inDeno = await probeKernel(testGpu!, BROWSER_METHODS, request);
            const t2 = performance.now();
            const label = `${request.methodId} on ${JSON.stringify(request.shape)}`;
            assertEquals(inBrowser.out.length, inDeno.out.length, label);
            assertEquals(inBrowser.visited, inDeno.visited, `${label}: keys visited`);
            const c = compareWithin(inBrowser.out, inDeno.out);
            console.log(
              `${label}: max |browser − Deno| = ${c.maxAbsError.toExponential(2)} (browser ${
                (t1 - t0).toFixed(0)
              } ms, Deno ${(t2 - t1).toFixed(0)} ms)`,
            );
            assert(c.within, `${label}: out of tolerance first at ${JSON.stringify(c.first)}`);
          }
        },
      });
      assertEquals(problems, []);
    } finally {
      await Deno.remove(work, { recursive: true });
    }
  },
});
