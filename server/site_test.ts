import { assert, assertRejects, assertStringIncludes } from "../tests/assert.ts";
import { RUNNER_BUNDLE } from "./assets.ts";
import { exportSite } from "./site.ts";
import { writeFixtures } from "./testdata/fixture.ts";

Deno.test("exportSite() writes pages, CSV, JSON and the runner bundle under the base path", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "sparsebench-site-" });
  try {
    await writeFixtures(`${tmp}/runs`);
    const start = Date.now();
    const paths = await exportSite({ results: `${tmp}/runs`, out: `${tmp}/out`, base: "/sb" });
    assert(paths.length > 20);
    const index = await Deno.readTextFile(`${tmp}/out/index.html`);
    assertStringIncludes(index, 'href="/sb/tasks/synthetic-attention/"');
    assertStringIncludes(index, 'href="/sb/static/app.css"');
    const task = await Deno.readTextFile(`${tmp}/out/tasks/synthetic-attention/index.html`);
    assertStringIncludes(task, 'href="/sb/tasks/synthetic-attention/device/all/"');
    assertStringIncludes(task, 'href="/sb/api/tasks/synthetic-attention/leaderboard.json"');
    for (
      const file of [
        "api/tasks/synthetic-attention/leaderboard.json",
        "api/runs.json",
        "api/schema.json",
        "tasks/synthetic-attention/leaderboard.csv",
        "tasks/synthetic-attention/device/all/index.html",
        "methods/sliding-window/index.html",
        "runs/2025-01-02-quick/index.html",
        "static/chart.umd.min.js",
        "404.html",
      ]
    ) {
      await Deno.stat(`${tmp}/out/${file}`);
    }
    // It built the runner bundle itself (not just copied one left by an earlier build), so /run
    // loads it instead of saying it is not built.
    const built = (await Deno.stat(RUNNER_BUNDLE)).mtime!.getTime();
    assert(built >= start - 2000, `the runner bundle is from ${new Date(built).toISOString()}`);
    assert(paths.includes("/static/runner.js"));
    assert((await Deno.stat(`${tmp}/out/static/runner.js`)).size > 100_000);
    const run = await Deno.readTextFile(`${tmp}/out/run/index.html`);
    assertStringIncludes(run, 'src="/sb/static/runner.js"');
    assert(!run.includes("not built"), "the exported /run page says the runner is not built");
    // The data files the bundle pins are written under their sha256 (an IDX file, no dot, too).
    const labels = "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2";
    assert(paths.includes(`/static/assets/${labels}/t10k-labels-idx1-ubyte`));
    assert((await Deno.stat(`${tmp}/out/static/assets/${labels}/t10k-labels-idx1-ubyte`)).isFile);
    // Every internal link of every page points at a file that was written.
    for await (const entry of walk(`${tmp}/out`)) {
      if (!entry.endsWith(".html")) continue;
      const html = await Deno.readTextFile(entry);
      for (const [, link] of html.matchAll(/(?:href|src)="(\/sb\/[^"#?]*)"/g)) {
        const rel = link.slice(3);
        const file = rel.endsWith("/") ? `${rel}index.html` : rel;
        await Deno.stat(`${tmp}/out${file}`).catch(() => {
          throw new Error(`${entry} links to ${link}, which was not written`);
        });
      }
    }
    await assertRejects(() =>
      exportSite({ results: `${tmp}/runs`, out: `${tmp}/o2`, base: "sb/" })
    );
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

async function* walk(dir: string): AsyncGenerator<string> {
  for await (const e of Deno.readDir(dir)) {
    const path = `${dir}/${e.name}`;
    if (e.isDirectory) yield* walk(path);
    else yield path;
  }
}
