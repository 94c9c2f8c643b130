import { assert, assertEquals, assertRejects, assertStringIncludes } from "../tests/assert.ts";
import { readCatalog } from "./catalog.ts";
import { parseRunFile } from "../bench/results/run_file.ts";
import { toCsv } from "./columns.ts";
import { DEVICE_ID_PATTERN, deviceOf } from "./devices.ts";
import { escapeHtml, h, jsonForScript } from "./html.ts";
import { paretoFrontier } from "./pareto.ts";
import { aggregate } from "./aggregate.ts";
import { compareRuns } from "./compare.ts";
import { fixtureRuns, makeRun } from "./testdata/fixture.ts";
import { href } from "./views/links.ts";

Deno.test("the fixtures are valid run files", async () => {
  for (const run of fixtureRuns()) parseRunFile(run, run.runId);
  for await (const e of Deno.readDir(new URL("./testdata/runs", import.meta.url))) {
    if (e.name === "broken.json" || e.name === "invalid.json") continue;
    const text = await Deno.readTextFile(new URL(`./testdata/runs/${e.name}`, import.meta.url));
    parseRunFile(JSON.parse(text), e.name);
  }
});

Deno.test("paretoFrontier() keeps the points nothing beats on both axes", () => {
  const points = [
    { speedup: 1, quality: 1.0 },
    { speedup: 2, quality: 0.9 },
    { speedup: 2, quality: 0.8 }, // beaten by the point above
    { speedup: 1.5, quality: 0.85 }, // beaten by (2, 0.9)
    { speedup: 4, quality: 0.5 },
    { speedup: NaN, quality: 2 },
  ];
  assertEquals(paretoFrontier(points, true), [0, 1, 4]);
  assertEquals(paretoFrontier(points, false), [4]); // fastest and lowest at once
  assertEquals(paretoFrontier([], true), []);
});

Deno.test("h`` escapes interpolations but not nested markup", () => {
  assertEquals(
    escapeHtml(`<a href="x">'&'</a>`),
    "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;",
  );
  assertEquals(
    h`<b>${"<i>"}</b>${h`<i>${1}</i>`}${null}${["<", h`<br>`]}`.value,
    "<b>&lt;i&gt;</b><i>1</i>&lt;<br>",
  );
  assertEquals(
    jsonForScript({ a: "</script><!--" }).value,
    '{"a":"\\u003c/script\\u003e\\u003c!--"}',
  );
});

Deno.test("deviceOf() gives URL-safe, stable ids per adapter and backend", () => {
  const a = deviceOf(makeRun({ gpuDescription: "llvmpipe (LLVM 15.0.6, 256 bits)" }));
  const b = deviceOf(makeRun({ gpuDescription: "<script>" }));
  const none = deviceOf(makeRun({ gpuDescription: null }));
  assert(DEVICE_ID_PATTERN.test(a.id) && DEVICE_ID_PATTERN.test(b.id));
  assert(DEVICE_ID_PATTERN.test(none.id));
  assertEquals(a.id, deviceOf(makeRun({ seed: 9 })).id);
  assert(a.id !== b.id);
  const metal = makeRun({ gpuDescription: "Apple M2" });
  const vulkan = makeRun({ gpuDescription: "Apple M2" });
  metal.environment.gpu!.backend = "metal";
  assert(deviceOf(metal).id !== deviceOf(vulkan).id, "the backend is part of the device");
});

Deno.test("deviceOf() adds the host CPU and cores for software adapters only", () => {
  const host = (description: string | null, cpuModel: string, cores = 2) =>
    deviceOf(makeRun({ gpuDescription: description, cpuModel, cores }));
  const llvmpipe = "llvmpipe (LLVM 15.0.6, 256 bits)";
  assert(host(llvmpipe, "Intel Xeon").id !== host(llvmpipe, "AMD EPYC").id);
  assert(host(llvmpipe, "Intel Xeon", 2).id !== host(llvmpipe, "Intel Xeon", 8).id);
  assertStringIncludes(host(llvmpipe, "AMD EPYC").label, "AMD EPYC, 2 cores");
  for (
    const software of [
      "SwiftShader Device (Subzero)",
      "lavapipe (LLVM 16.0.6, 256 bits)",
      "Microsoft Basic Render Driver",
      "softpipe",
    ]
  ) {
    assert(host(software, "A").id !== host(software, "B").id, software);
  }
  assertEquals(host("NVIDIA H200", "Intel Xeon").id, host("NVIDIA H200", "AMD EPYC").id);
  assertEquals(host("NVIDIA H200", "AMD EPYC").host, null);
  const fallback = makeRun({ gpuDescription: "Some adapter", cpuModel: "A" });
  fallback.environment.gpu!.isFallbackAdapter = true;
  assert(deviceOf(fallback).software && deviceOf(fallback).host?.cpuModel === "A");
  assert(
    host(null, "Intel Xeon").id !== host(null, "AMD EPYC").id,
    "no GPU: the CPU is the device",
  );
});

Deno.test("toCsv() quotes fields and defuses spreadsheet formulas", () => {
  const run = makeRun();
  run.cells[0].method.id = "=HYPERLINK(1)";
  run.cells[0].method.params = { note: 'a,"b"' };
  const rows = aggregate([run]).methodRows.get("=HYPERLINK(1)")!;
  const csv = toCsv(rows);
  assert(csv.includes("'=HYPERLINK(1)"));
  assert(csv.includes('"note=a,""b"""'));
});

Deno.test("href() writes static links as folders and API paths as .json files", () => {
  const s = { base: "/sb", static: true };
  assertEquals(href(s, "/tasks/x"), "/sb/tasks/x/");
  assertEquals(href(s, "/"), "/sb/");
  assertEquals(href(s, "/api/tasks/x/leaderboard"), "/sb/api/tasks/x/leaderboard.json");
  assertEquals(href(s, "/static/app.js"), "/sb/static/app.js");
  assertEquals(href(s, "/tasks/x/leaderboard.csv"), "/sb/tasks/x/leaderboard.csv");
  assertEquals(href({ base: "", static: false }, "/tasks/x?device=all"), "/tasks/x?device=all");
});

Deno.test("readCatalog() keeps the method fields pages use and names a broken file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sparsebench-catalog-" });
  try {
    const method = {
      id: "sliding-window",
      family: "attention",
      title: "Sliding-window attention",
      description: "nearest keys only",
      paper: { title: "Longformer", year: 2020, link: "https://arxiv.org/abs/2004.05150" },
      fidelity: { level: "faithful", reason: "a test fixture" },
      version: "1.0.0",
      parameters: {
        window: {
          type: "int",
          description: "keys per query",
          default: 128,
          min: 1,
          max: 65536,
          sweep: [128],
        },
      },
      capabilities: { requires: ["webgpu"], features: ["causal"] },
    };
    await Deno.writeTextFile(`${dir}/ok.json`, JSON.stringify({ methods: [method], tasks: [] }));
    const info = (await readCatalog(`${dir}/ok.json`)).get("sliding-window")!;
    assertEquals(info.paper.year, 2020);
    assertEquals(info.parameters.window.default, 128);
    assert(!("family" in info), "fields the pages do not use are dropped");
    await Deno.writeTextFile(`${dir}/bad.json`, JSON.stringify({ methods: [{ id: "x" }] }));
    await assertRejects(() => readCatalog(`${dir}/bad.json`), Error, "bad.json is not a method");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("compareRuns() calls a speed-up change only when the intervals do not overlap", () => {
  const a = makeRun({ runId: "a" });
  const b = structuredClone(a);
  b.runId = "b";
  const sparse = b.cells.flatMap((c, i) => (c.status === "ok" && !c.isReference ? [i] : []));
  const scale = (i: number, by: number) => {
    const cell = b.cells[i];
    if (cell.status !== "ok" || !cell.speedup?.ci95) {
      throw new Error("fixture cell has no speed-up");
    }
    const [lo, hi] = cell.speedup.ci95;
    cell.speedup = { ...cell.speedup, value: cell.speedup.value * by, ci95: [lo * by, hi * by] };
  };
  scale(sparse[0], 1.5); // far outside a's interval
  scale(sparse[1], 1.01); // inside it: not a change
  scale(sparse[2], 0.5);
  const cmp = compareRuns(a, b);
  const verdict = (i: number) => cmp.cells.find((c) => c.key === b.cells[i].key)!.speedup;
  assertEquals(verdict(sparse[0]), "improvement");
  assertEquals(verdict(sparse[1]), "unchanged");
  assertEquals(verdict(sparse[2]), "regression");
  assertEquals(cmp.sameDevice, true);
  assertEquals([cmp.improvements, cmp.regressions], [1, 1]);
  assert(cmp.cells.every((c) => c.latency === "unchanged" || c.latency === "missing"));
});
