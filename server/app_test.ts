import { assert, assertEquals, assertStringIncludes } from "../tests/assert.ts";
import { fixtureApp } from "./testdata/test_app.ts";
import { fixtureRuns, makeRun } from "./testdata/fixture.ts";

const TASK = "synthetic-attention";

Deno.test("GET / lists tasks, devices and the latest run", async () => {
  await using f = await fixtureApp();
  const res = await f.app.request("/");
  assertEquals(res.status, 200);
  const body = await res.text();
  for (
    const part of [
      TASK,
      "mnist-mlp-pruning",
      "sotu-moe-lm",
      "wordnet-gloss-retrieval",
      "llvmpipe",
      "Apple M2",
    ]
  ) {
    assertStringIncludes(body, part);
  }
  assertStringIncludes(body, "2025-01-02-quick"); // latest verified run
});

Deno.test("every page and API route answers 200 on the fixtures", async () => {
  await using f = await fixtureApp();
  const paths = [
    "/runs",
    "/runs/2025-01-01-quick",
    `/tasks/${TASK}`,
    `/tasks/${TASK}?device=all&unverified=1&sort=speedup&dir=asc&density_min=0.1&density_max=0.9`,
    `/tasks/${TASK}/device/all`,
    `/tasks/${TASK}/leaderboard.csv`,
    "/methods/sliding-window",
    "/compare?a=2025-01-01-quick&b=2025-01-02-quick",
    "/api/health",
    "/api/runs",
    "/api/runs/2025-01-01-quick",
    "/api/tasks",
    `/api/tasks/${TASK}/leaderboard`,
    "/api/methods",
    "/api/schema",
    "/api/compare?a=2025-01-01-quick&b=2024-12-31-other-host",
    "/static/app.js",
    "/static/app.css",
    "/static/chart.umd.min.js",
  ];
  for (const path of paths) {
    const res = await f.app.request(path);
    assertEquals(res.status, 200, path);
    await res.body?.cancel();
  }
});

// The policy spelled out here rather than imported, so the test checks what browsers receive.
const CSP = [
  "default-src 'none'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

Deno.test("every response carries the CSP, nosniff, frame and referrer headers", async () => {
  await using f = await fixtureApp();
  for (
    const path of ["/", "/api/tasks", "/static/app.js", "/nowhere", "/api/nowhere", "/tasks/%00"]
  ) {
    const res = await f.app.request(path);
    await res.body?.cancel();
    assertEquals(res.headers.get("content-security-policy"), CSP, path);
    assertEquals(res.headers.get("x-content-type-options"), "nosniff", path);
    assertEquals(res.headers.get("x-frame-options"), "DENY", path);
    assertEquals(res.headers.get("referrer-policy"), "no-referrer", path);
  }
});

Deno.test("a matching If-None-Match is a 304 with the same headers and no body", async () => {
  await using f = await fixtureApp();
  for (const path of ["/static/app.js", `/tasks/${TASK}`, "/api/tasks"]) {
    const first = await f.app.request(path);
    await first.body?.cancel();
    const tag = first.headers.get("etag");
    assert(tag, `no ETag on ${path}`);
    const again = await f.app.request(path, { headers: { "if-none-match": tag } });
    assertEquals(again.status, 304, path);
    assertEquals(await again.text(), "");
    assertEquals(again.headers.get("etag"), tag);
    assertEquals(again.headers.get("content-security-policy"), CSP, path);
    const other = await f.app.request(path, { headers: { "if-none-match": '"other"' } });
    assertEquals(other.status, 200, path);
    await other.body?.cancel();
  }
});

Deno.test("/tasks/:id shows the leaderboard table, chart data and only verified runs by default", async () => {
  await using f = await fixtureApp();
  const body = await (await f.app.request(`/tasks/${TASK}`)).text();
  assertStringIncludes(body, '<table class="board sortable" id="board">');
  assertStringIncludes(body, 'id="chart-data"');
  assertStringIncludes(body, "/static/chart.umd.min.js");
  assertStringIncludes(body, "Sliding-window attention");
  assertStringIncludes(body, "dense baseline");
  assert(!body.includes("2025-01-03-submitted"), "unverified run in the default ranking");
  const all = await (await f.app.request(`/tasks/${TASK}?device=all&unverified=1`)).text();
  assertStringIncludes(all, "2025-01-03-submitted");
  assertStringIncludes(all, "unverified</span>");
});

Deno.test("/api/tasks/:id/leaderboard keeps the latest row per method, sorted best first", async () => {
  await using f = await fixtureApp();
  const data = await (await f.app.request(`/api/tasks/${TASK}/leaderboard`)).json();
  assertEquals(data.device.startsWith("llvmpipe"), true);
  assert(data.rows.length > 0);
  for (const row of data.rows) assertEquals(row.runId, "2025-01-02-quick");
  const ok = data.rows.filter((r: { metric: number | null }) => r.metric !== null);
  for (let i = 1; i < ok.length; i++) assert(ok[i - 1].metric >= ok[i].metric);
  assert(data.frontier.length >= 1);
  const sorted = await (await f.app.request(`/api/tasks/${TASK}/leaderboard?sort=speedup&dir=asc`))
    .json();
  const speedups = sorted.rows.map((r: { speedup: number | null }) => r.speedup).filter((
    s: number | null,
  ) => s !== null);
  assertEquals(speedups, [...speedups].sort((a: number, b: number) => a - b));
  const dense = await (await f.app.request(`/api/tasks/${TASK}/leaderboard?density_min=0.99`))
    .json();
  for (const row of dense.rows) assert(row.realizedDensity >= 0.99);
});

Deno.test("CSV download has a header and one line per row", async () => {
  await using f = await fixtureApp();
  const res = await f.app.request(`/tasks/${TASK}/leaderboard.csv`);
  assertEquals(res.headers.get("content-type"), "text/csv; charset=utf-8");
  const lines = (await res.text()).trim().split("\r\n");
  assertStringIncludes(lines[0], "task,method,label,params,case,metric,latency,speedup");
  const data = await (await f.app.request(`/api/tasks/${TASK}/leaderboard`)).json();
  assertEquals(lines.length, data.rows.length + 1);
});

Deno.test("/runs/:id shows the environment and failures with their reason", async () => {
  await using f = await fixtureApp();
  const body = await (await f.app.request("/runs/2025-01-02-quick")).text();
  assertStringIncludes(body, "llvmpipe (LLVM 15.0.6, 256 bits)");
  assertStringIncludes(body, "shader compilation failed: unsupported feature &#39;subgroups&#39;");
  assertStringIncludes(body, "/compare?a=2025-01-01-quick&amp;b=2025-01-02-quick");
});

Deno.test("/compare marks latency regressions beyond the confidence intervals", async () => {
  await using f = await fixtureApp();
  const body = await (await f.app.request("/compare?a=2025-01-01-quick&b=2025-01-02-quick")).text();
  assertStringIncludes(body, '<span class="badge regression">regression</span>');
  assertStringIncludes(body, "only in b");
  const back = await (await f.app.request("/compare?a=2025-01-02-quick&b=2025-01-01-quick")).text();
  assertStringIncludes(back, '<span class="badge improvement">improvement</span>');
  const devices = await (await f.app.request("/compare?a=2025-01-01-quick&b=2025-01-03-submitted"))
    .text();
  assertStringIncludes(devices, "different devices");
});

Deno.test("/compare across hosts with the same software adapter says the devices differ", async () => {
  await using f = await fixtureApp();
  const other = "2024-12-31-other-host";
  const body = await (await f.app.request(`/compare?a=2025-01-01-quick&b=${other}`)).text();
  assertStringIncludes(body, "different devices");
  assertStringIncludes(body, "Fixture CPU, 2 cores");
  assertStringIncludes(body, "AMD EPYC 7763 64-Core Processor, 4 cores");
  assertStringIncludes(body, "0 regressions, 0 improvements");
  assert(!body.includes('class="badge improvement"'), "a faster host called an improvement");
  const data = await (await f.app.request(`/api/compare?a=2025-01-01-quick&b=${other}`)).json();
  assertEquals(data.sameDevice, false);
  assertEquals([data.regressions, data.improvements], [0, 0]);
  const ok = data.cells.filter((c: { a: unknown; b: unknown }) => c.a && c.b);
  assert(ok.length > 0);
  for (const c of ok) {
    assert(c.latency === "incomparable" || c.latency === "missing", c.key);
    assertEquals(c.latencyChange, null);
    assert(c.speedup === "unchanged" || c.speedup === "missing", `${c.key}: ${c.speedup}`);
  }
  // On one device latency is judged: 2025-01-02-quick is 1.5x slower.
  const same = await (await f.app.request(`/api/compare?a=2025-01-01-quick&b=2025-01-02-quick`))
    .json();
  assertEquals(same.sameDevice, true);
  assert(same.regressions > 0);
});

Deno.test("/methods/:id shows results on every task and a trend chart", async () => {
  await using f = await fixtureApp();
  const body = await (await f.app.request("/methods/top-k-gate")).text();
  assertStringIncludes(body, "Top-k gate");
  assertStringIncludes(body, "sotu-moe-lm");
  assertStringIncludes(body, '"kind":"trend"');
});

Deno.test("bad ids and unknown ids are 404, never 500, as HTML or JSON", async () => {
  await using f = await fixtureApp();
  const cases: [string, number][] = [
    ["/tasks/no-such-task", 404],
    ["/tasks/..%2F..%2Fetc%2Fpasswd", 404],
    ["/tasks/UPPER", 404],
    ["/runs/nope", 404],
    ["/runs/%E0%A4%A", 404],
    ["/methods/%3Cscript%3E", 404],
    ["/methods/nope", 404],
    ["/static/", 404],
    ["/static/../app.ts", 404],
    ["/static/app.ts", 404],
    ["/api/runs/..%2Fschema", 404],
    ["/api/tasks/nope/leaderboard", 404],
    [`/tasks/${TASK}/device/BAD!`, 404],
    ["/server/app.ts", 404],
    ["/api/nowhere", 404],
  ];
  for (const [path, status] of cases) {
    const res = await f.app.request(path);
    assertEquals(res.status, status, path);
    const text = await res.text();
    assert(!text.includes("    at "), `stack trace in ${path}`);
    if (path.startsWith("/api/")) assertEquals(JSON.parse(text).status, status);
  }
});

Deno.test("bad query parameters are 400 with a message", async () => {
  await using f = await fixtureApp();
  const cases = [
    `/tasks/${TASK}?sort=nope`,
    `/tasks/${TASK}?dir=up`,
    `/tasks/${TASK}?density_min=2`,
    `/tasks/${TASK}?density_min=abc`,
    `/tasks/${TASK}?density_min=0.9&density_max=0.1`,
    `/tasks/${TASK}?device=../../x`,
    `/tasks/${TASK}?unverified=maybe`,
    `/tasks/${TASK}?bogus=1`,
    `/api/tasks/${TASK}/leaderboard?sort=%00`,
    `/tasks/${TASK}/leaderboard.csv?dir=sideways`,
    "/compare",
    "/compare?a=2025-01-01-quick",
    "/compare?a=../x&b=y",
    "/compare?a=x&b=y&c=z",
    "/api/compare?a=2025-01-01-quick",
    "/?x=1",
    "/runs/2025-01-01-quick?x=%ZZ",
  ];
  for (const path of cases) {
    const res = await f.app.request(path);
    assertEquals(res.status, 400, path);
    assertStringIncludes(await res.text(), "");
  }
  const unknown = await f.app.request("/compare?a=nope&b=2025-01-01-quick");
  assertEquals(unknown.status, 404);
  await unknown.body?.cancel();
});

Deno.test("malformed requests never get a 500", async () => {
  await using f = await fixtureApp();
  const paths = [
    "/%",
    "/%%",
    "/tasks/%",
    "/tasks/%ff%fe",
    "/runs/" + "a".repeat(5000),
    "/tasks/" + "a-".repeat(300) + "a",
    "/api/tasks/%00/leaderboard",
    "/compare?a=%ff&b=%fe",
    `/tasks/${TASK}?device=` + "x".repeat(10000),
    "//",
    "/./",
    "/tasks//",
    "/api/runs/",
    `/tasks/${TASK}?sort=method&sort=speedup`,
  ];
  for (const path of paths) {
    const res = await f.app.request(path);
    assert(res.status < 500, `${path} -> ${res.status}`);
    await res.body?.cancel();
  }
  for (const method of ["PUT", "DELETE", "PATCH", "POST"]) {
    const res = await f.app.request("/tasks/x", { method });
    assert(res.status < 500, `${method} -> ${res.status}`);
    await res.body?.cancel();
  }
});

Deno.test("strings from result files are escaped: a planted <script> renders as text", async () => {
  await using f = await fixtureApp();
  const evil = "<script>alert(1)</script>";
  const run = makeRun({
    runId: "evil-run",
    startedAt: "2025-02-01T00:00:00.000Z",
    gpuDescription: `GPU ${evil}`,
    failure: `boom ${evil}`,
  });
  for (const cell of run.cells) {
    cell.method.title = `${cell.method.title} ${evil}`;
    cell.method.params = { ...cell.method.params, note: `"><img src=x onerror=alert(1)>` };
  }
  await Deno.writeTextFile(`${f.dir}/evil-run.json`, JSON.stringify(run));
  const data = await (await f.app.request("/api/tasks")).json();
  assert(data.length > 0);
  const task = await (await f.app.request(`/tasks/${TASK}?device=all`)).text();
  const method = await (await f.app.request("/methods/sliding-window")).text();
  const runPage = await (await f.app.request("/runs/evil-run")).text();
  const overview = await (await f.app.request("/")).text();
  for (const body of [task, method, runPage, overview]) {
    assert(!body.includes(evil), "unescaped <script>");
    assert(!body.includes("<img src=x"), "unescaped attribute breakout");
  }
  assertStringIncludes(runPage, "&lt;script&gt;alert(1)&lt;/script&gt;");
  assertStringIncludes(task, "\\u003cscript\\u003e"); // inside the chart's JSON data block
});

Deno.test("/api/health lists broken files with their reasons", async () => {
  await using f = await fixtureApp();
  const health = await (await f.app.request("/api/health")).json();
  assertEquals(health.loaded, fixtureRuns().length);
  assertEquals(health.skipped.map((s: { file: string }) => s.file), [
    "broken.json",
    "invalid.json",
  ]);
  assertStringIncludes(health.skipped[0].reason, "not JSON");
  assertStringIncludes(health.skipped[1].reason, "at status");
  assertEquals(health.ok, false);
});

Deno.test("the app picks up a new run file without restarting", async () => {
  await using f = await fixtureApp();
  const before = await (await f.app.request("/api/runs")).json();
  await Deno.writeTextFile(
    `${f.dir}/2025-03-01-quick.json`,
    JSON.stringify(makeRun({ runId: "2025-03-01-quick", startedAt: "2025-03-01T00:00:00.000Z" })),
  );
  const after = await (await f.app.request("/api/runs")).json();
  assertEquals(after.length, before.length + 1);
  assertEquals(after[0].runId, "2025-03-01-quick");
  await Deno.remove(`${f.dir}/2025-03-01-quick.json`);
  assertEquals((await (await f.app.request("/api/runs")).json()).length, before.length);
});

Deno.test("speed-ups carry their 95% interval and noisy cells are marked, in pages, JSON and CSV", async () => {
  await using f = await fixtureApp();
  const page = await (await f.app.request(`/tasks/${TASK}`)).text();
  assert(/×[0-9.]+ \[[0-9.]+, [0-9.]+\]/.test(page), "no speed-up interval on the task page");
  assertStringIncludes(page, '<span class="badge noisy"');
  const data = await (await f.app.request(`/api/tasks/${TASK}/leaderboard`)).json();
  type ApiRow = {
    speedup: number | null;
    speedupCi: [number, number] | null;
    p50Ms: number | null;
    p50Ci: [number, number] | null;
    noisy: boolean | null;
    samples: number | null;
  };
  const rows: ApiRow[] = data.rows.filter((r: ApiRow) => r.speedup !== null);
  assert(rows.length > 0);
  for (const r of rows) {
    assert(r.speedupCi && r.speedupCi[0] <= r.speedup! && r.speedup! <= r.speedupCi[1]);
    assert(r.p50Ci && 0 <= r.p50Ci[0] && r.p50Ci[0] <= r.p50Ms! && r.p50Ms! <= r.p50Ci[1]);
    assertEquals(r.samples, 10);
  }
  assert(rows.some((r) => r.noisy === true) && rows.some((r) => r.noisy === false));
  const csv = (await (await f.app.request(`/tasks/${TASK}/leaderboard.csv`)).text()).split("\r\n");
  assertStringIncludes(csv[0], "speedup_ci95_low,speedup_ci95_high,samples,noisy");
  const compare = await (await f.app.request("/compare?a=2025-01-01-quick&b=2025-01-02-quick"))
    .text();
  assert(/×[0-9.]+ \[[0-9.]+, [0-9.]+\]/.test(compare), "no speed-up interval on /compare");
  const run = await (await f.app.request("/runs/2025-01-02-quick")).text();
  assertStringIncludes(run, "<th>Samples</th>");
  assertStringIncludes(run, '<span class="badge noisy"');
});

Deno.test("a schema-1 run file is read through the upgrader and shown without intervals", async () => {
  await using f = await fixtureApp();
  const legacy = JSON.parse(
    await Deno.readTextFile(new URL("./testdata/schema_v1_run.json", import.meta.url)),
  );
  legacy.runId = "legacy-run";
  await Deno.writeTextFile(`${f.dir}/legacy-run.json`, JSON.stringify(legacy));
  const res = await f.app.request("/runs/legacy-run");
  assertEquals(res.status, 200);
  const body = await res.text();
  assertStringIncludes(body, "read from schema 1");
  assert(/×[0-9.]+</.test(body) && !/×[0-9.]+ \[/.test(body), "a legacy speed-up has no interval");
  const cmp = await (await f.app.request("/api/compare?a=legacy-run&b=2025-01-02-quick")).json();
  for (const c of cmp.cells) {
    assert(c.speedup !== "regression" && c.speedup !== "improvement", "judged without interval");
  }
});
