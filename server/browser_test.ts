// The leaderboard in a real browser: Debian's chromium driven by playwright-core loads a task
// page served on 127.0.0.1, sorts the table by clicking a header and checks the chart was drawn.
// Skipped, with the reason printed, where /usr/bin/chromium is not installed.
import { assert, assertEquals } from "../tests/assert.ts";
import {
  CHROMIUM,
  hasChromium,
  launchChromium,
  NO_GPU_FLAGS,
  serveLocally,
} from "./testdata/chromium.ts";
import { fixtureApp } from "./testdata/test_app.ts";

const available = hasChromium();
if (!available) {
  console.log(`browser test skipped: ${CHROMIUM} is not installed (apt-get install chromium)`);
}

Deno.test({
  name: "the task page sorts its table and draws its chart in chromium",
  ignore: !available,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using f = await fixtureApp();
    await using server = await serveLocally(f.app.fetch);
    await using browser = await launchChromium(NO_GPU_FLAGS);
    const page = browser.context.pages()[0] ?? await browser.context.newPage();
    const problems: string[] = [];
    page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
    page.on("console", (m) => m.type() === "error" && problems.push(`console: ${m.text()}`));
    const res = await page.goto(`${server.url}/tasks/synthetic-attention`);
    assertEquals(res?.status(), 200);
    await page.waitForLoadState("load");

    const rows = page.locator("#board tbody tr");
    const count = await rows.count();
    const api = await (await f.app.request("/api/tasks/synthetic-attention/leaderboard")).json();
    assertEquals(count, api.rows.length);

    const column = await page.locator("#board thead th").evaluateAll((ths) =>
      ths.findIndex((th) => th.getAttribute("data-key") === "speedup")
    );
    const speedups = () =>
      page.locator(`#board tbody tr td:nth-child(${column + 1})`).evaluateAll((tds) =>
        tds.map((td) => td.getAttribute("data-v")).filter((v) => v !== "").map(Number)
      );
    await page.locator('#board thead th[data-key="speedup"]').click();
    const down = await speedups();
    assertEquals(down, [...down].sort((a, b) => b - a));
    await page.locator('#board thead th[data-key="speedup"]').click();
    const up = await speedups();
    assertEquals(up, [...up].sort((a, b) => a - b));
    assert(up.length > 2 && up[0] < up.at(-1)!, "the column has distinct values to sort");

    // The chart counts as drawn when its canvas has a good share of painted pixels.
    // Written as page-side source text: this module is type-checked without the DOM library.
    await page.waitForFunction(`document.getElementById("chart")?.width > 0`);
    const painted = await page.evaluate<number>(`(() => {
      const c = document.getElementById("chart");
      const data = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 3; i < data.length; i += 4) if (data[i] !== 0) n++;
      return n / (c.width * c.height);
    })()`);
    assert(painted > 0.01, `chart canvas is blank (${painted} painted)`);
    assertEquals(problems, []);

    const dir = Deno.env.get("SPARSEBENCH_ARTIFACTS") ?? "tmp/artifacts";
    await Deno.mkdir(dir, { recursive: true });
    await page.screenshot({ path: `${dir}/leaderboard_task_page.png`, fullPage: true });
  },
});
