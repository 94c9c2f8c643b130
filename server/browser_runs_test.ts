// Runs from the runner page on the server: anonymous submissions only with acceptBrowserRuns
// (`--accept-browser-runs`), only browser runs, rate-limited per client, de-duplicated by their
// measurements, never over another file; the /run and /devices pages and their static export.
import { assert, assertEquals, assertStringIncludes } from "../tests/assert.ts";
import { makeBrowserRun } from "./testdata/browser_run.ts";
import { makeRun } from "./testdata/fixture.ts";
import { fixtureApp } from "./testdata/test_app.ts";
import { deviceOf } from "./devices.ts";
import { SENT_FIELDS } from "./views/run_page.ts";
import { escapeHtml } from "./html.ts";
import { exportSite } from "./site.ts";

function post(run: unknown, token: string | null = null) {
  return {
    method: "POST",
    body: JSON.stringify(run),
    headers: {
      "content-type": "application/json",
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
  };
}

Deno.test("anonymous browser runs are refused unless the server accepts them", async () => {
  await using off = await fixtureApp({ submitToken: null });
  const refused = await off.app.request("/api/runs", post(makeBrowserRun()));
  assertEquals(refused.status, 404);
  await refused.body?.cancel();
  await using tokenOnly = await fixtureApp({ submitToken: "tok" });
  const noToken = await tokenOnly.app.request("/api/runs", post(makeBrowserRun()));
  assertEquals(noToken.status, 401);
  await noToken.body?.cancel();
});

Deno.test("with acceptBrowserRuns an anonymous browser run is stored unverified", async () => {
  await using f = await fixtureApp({ submitToken: null, acceptBrowserRuns: true });
  const res = await f.app.request("/api/runs", post({ ...makeBrowserRun(), verified: true }));
  assertEquals(res.status, 201);
  assertEquals((await res.json()).verified, false);
  const stored = JSON.parse(await Deno.readTextFile(`${f.dir}/browser-run.json`));
  assertEquals([stored.verified, stored.source], [false, "browser"]);
  const runs = await (await f.app.request("/api/runs")).json();
  assert(runs.some((r: { runId: string }) => r.runId === "browser-run"));
});

Deno.test("anonymous submissions must be browser runs without an adapter description", async () => {
  await using f = await fixtureApp({ submitToken: null, acceptBrowserRuns: true });
  const cli = await f.app.request("/api/runs", post(makeRun({ runId: "cli-run" })));
  assertEquals(cli.status, 403);
  assertStringIncludes((await cli.json()).error, "browser runs");
  const run = makeBrowserRun();
  run.environment.gpu!.description = "SwiftShader Device (Subzero) on host-42";
  const named = await f.app.request("/api/runs", post(run));
  assertEquals(named.status, 400);
  assertStringIncludes((await named.json()).error, "no adapter description");
});

Deno.test("a token still submits any run when browser runs are accepted too", async () => {
  await using f = await fixtureApp({ submitToken: "tok", acceptBrowserRuns: true });
  const res = await f.app.request("/api/runs", post(makeRun({ runId: "theirs", seed: 99 }), "tok"));
  assertEquals(res.status, 201);
  await res.body?.cancel();
  const wrong = await f.app.request("/api/runs", post(makeRun({ runId: "x" }), "wrong"));
  assertEquals(wrong.status, 401);
  await wrong.body?.cancel();
});

Deno.test("the same measurements are refused under another run id, and no file is replaced", async () => {
  await using f = await fixtureApp({ submitToken: null, acceptBrowserRuns: true });
  const first = await f.app.request("/api/runs", post(makeBrowserRun("browser-a")));
  assertEquals(first.status, 201);
  await first.body?.cancel();
  const again = await f.app.request("/api/runs", post(makeBrowserRun("browser-b")));
  assertEquals(again.status, 409);
  assertStringIncludes((await again.json()).error, "already stored, as run 'browser-a'");
  const sameId = await f.app.request("/api/runs", post(makeBrowserRun("browser-a", 8)));
  assertEquals(sameId.status, 409);
  assertStringIncludes((await sameId.json()).error, "already exists");
  const kept = JSON.parse(await Deno.readTextFile(`${f.dir}/browser-a.json`));
  assertEquals(kept.seed, 7);
});

Deno.test("each client gets a few submissions per window, then a 429 with Retry-After", async () => {
  await using f = await fixtureApp({
    submitToken: null,
    acceptBrowserRuns: true,
    submissionRate: { requests: 2, windowMs: 60_000 },
  });
  for (const seed of [1, 2]) {
    const res = await f.app.request("/api/runs", post(makeBrowserRun(`b-${seed}`, seed)));
    assertEquals(res.status, 201);
    await res.body?.cancel();
  }
  const third = await f.app.request("/api/runs", post(makeBrowserRun("b-3", 3)));
  assertEquals(third.status, 429);
  assert(Number(third.headers.get("retry-after")) > 0);
  assertStringIncludes((await third.json()).error, "Too many submissions");
});

Deno.test("an oversized anonymous submission is a 413", async () => {
  await using f = await fixtureApp({
    submitToken: null,
    acceptBrowserRuns: true,
    maxSubmissionBytes: 1000,
  });
  const res = await f.app.request("/api/runs", post(makeBrowserRun()));
  assertEquals(res.status, 413);
  await res.body?.cancel();
});

Deno.test("a browser run's device is its adapter.info, browser and OS family, with no host", () => {
  const device = deviceOf(makeBrowserRun());
  assertEquals(
    device.label,
    "google swiftshader · HeadlessChrome 156 on linux (software, host not recorded)",
  );
  assertEquals(device.host, null);
  assert(device.id.startsWith("browser-google-swiftshader-"), device.id);
  const cli = deviceOf(makeRun());
  assert(cli.id !== device.id);
});

Deno.test("/run lists what is sent, is cross-origin isolated, and says when the bundle is missing", async () => {
  await using f = await fixtureApp({
    submitToken: null,
    acceptBrowserRuns: true,
    assets: new Map(),
  });
  const res = await f.app.request("/run");
  assertEquals(res.status, 200);
  assertEquals(res.headers.get("cross-origin-embedder-policy"), "require-corp");
  assertEquals(res.headers.get("cross-origin-opener-policy"), "same-origin");
  const html = await res.text();
  for (const field of SENT_FIELDS) assertStringIncludes(html, escapeHtml(field));
  assertStringIncludes(html, "deno task bundle-browser");
  assertStringIncludes(html, 'data-submit-url="/api/runs"');
  const bad = await f.app.request("/run?x=1");
  assertEquals(bad.status, 400);
  await bad.body?.cancel();
});

Deno.test("/devices lists every device with its runs and the best sparse method per class", async () => {
  await using f = await fixtureApp({ submitToken: null, acceptBrowserRuns: true });
  await (await f.app.request("/api/runs", post(makeBrowserRun()))).body?.cancel();
  const html = await (await f.app.request("/devices")).text();
  assertStringIncludes(html, "google swiftshader · HeadlessChrome 156 on linux");
  assertStringIncludes(html, "from the runner page");
  assertStringIncludes(html, 'id="best-sparse"');
  assertStringIncludes(html, "software adapter (CPU)");
  const api = await (await f.app.request("/api/devices")).json();
  const browser = api.devices.find((d: { device: { browser?: string } }) => d.device.browser);
  assertEquals(browser.device.browser, "HeadlessChrome 156 on linux");
  assertEquals([browser.runs, browser.verifiedRuns, browser.fromBrowser], [1, 0, true]);
  assert(api.best.length > 0);
});

Deno.test("the static site has /run (no submissions) and /devices", async () => {
  await using f = await fixtureApp();
  const out = await Deno.makeTempDir({ prefix: "sparsebench-site-" });
  try {
    const paths = await exportSite({ results: f.dir, out });
    assert(paths.includes("/run") && paths.includes("/devices"));
    const run = await Deno.readTextFile(`${out}/run/index.html`);
    assertStringIncludes(run, 'data-submit-url=""');
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});
