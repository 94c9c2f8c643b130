import { assert, assertEquals, assertStringIncludes } from "../tests/assert.ts";
import { echoMethod, echoTask, gpuOnlyEchoMethod } from "../tests/fixtures/fake_plugins.ts";
import { emptyRun } from "../tests/fixtures/run_fixture.ts";
import type { GpuProvider } from "./gpu/device.ts";
import type { Method } from "./metadata.ts";
import { SkipCase } from "./plugin.ts";
import { planRun } from "./plan.ts";
import { readRunFile, writeRunFile } from "./results/run_file.ts";
import type { RunFile } from "./results/schema.ts";
import { runCells } from "./runner.ts";

// The runner only asks the provider for a device; these tests need none.
const noGpu = {
  current: () => Promise.resolve(null),
  unavailableReason: "no adapter in this test",
  takeLostReason: () => null,
} as unknown as GpuProvider;

function plan(methods: Method[]) {
  return planRun({ profile: "smoke", tasks: [echoTask], methods, overrides: {} }, methods);
}

const options = { warmup: 1, runs: 3, timeLimitMs: 200, dumpDir: null };

Deno.test("runCells() records a row for every misbehaving method and keeps the others ok", async () => {
  const methods = [
    echoMethod("echo-dense", "ok"),
    echoMethod("echo-throws-setup", "throws-in-setup"),
    echoMethod("echo-throws-run", "throws-in-run"),
    echoMethod("echo-hangs", "hangs"),
    echoMethod("echo-nan", "nan-output"),
    echoMethod("echo-wrong", "wrong-output"),
    echoMethod("echo-nan-metric", "nan-metric"),
    echoMethod("echo-fine", "ok"),
  ];
  const dir = await Deno.makeTempDir();
  const path = `${dir}/run.json`;
  const saves: number[] = [];
  const run = await runCells(plan(methods), emptyRun(), noGpu, options, async (r) => {
    saves.push(r.cells.length);
    await writeRunFile(path, r);
  });
  const byId = Object.fromEntries(run.cells.map((c) => [c.method.id, c]));
  assertEquals(run.cells.length, 8);
  assertEquals(byId["echo-dense"].status, "ok");
  assertEquals(byId["echo-fine"].status, "ok");
  assertEquals(byId["echo-throws-setup"].status, "failed");
  assertStringIncludes(byId["echo-throws-setup"].error!, "setup exploded");
  assertEquals(byId["echo-throws-run"].status, "failed");
  assertEquals(byId["echo-hangs"].status, "timeout");
  assertStringIncludes(byId["echo-hangs"].error!, "time limit");
  assertEquals(byId["echo-nan"].status, "failed");
  assertStringIncludes(byId["echo-nan"].error!, "correctness check failed");
  assertEquals(byId["echo-wrong"].status, "failed");
  assertEquals(byId["echo-nan-metric"].status, "failed");
  assertStringIncludes(byId["echo-nan-metric"].error!, "metric 'error' is NaN");
  for (const c of run.cells) {
    assertEquals(
      c.latency === null,
      c.status !== "ok",
      `${c.method.id}: latency only for ok cells`,
    );
  }
  // Saved after every cell, and the file on disk is valid and complete.
  assertEquals(saves, [1, 2, 3, 4, 5, 6, 7, 8]);
  assertEquals((await readRunFile(path)).cells.length, 8);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("runCells() interleaves the methods of a case round by round, rotating who goes first", async () => {
  const log: string[] = [];
  const methods = [echoMethod("echo-dense", "ok", log), echoMethod("echo-other", "ok", log)];
  await runCells(
    plan(methods),
    emptyRun(),
    noGpu,
    { ...options, warmup: 1, runs: 2 },
    () => Promise.resolve(),
  );
  assertEquals(log, [
    "echo-dense:1",
    "echo-other:1",
    "echo-other:1",
    "echo-dense:1",
    "echo-dense:1",
    "echo-other:1",
  ]);
});

Deno.test("runCells() computes speed-ups against the reference cell of the same run", async () => {
  const methods = [echoMethod("echo-dense", "ok")];
  const groups = planRun({
    profile: "smoke",
    tasks: [echoTask],
    methods,
    overrides: { scale: [1, 3] },
  }, methods);
  const run = await runCells(groups, emptyRun(), noGpu, options, () => Promise.resolve());
  const reference = run.cells.find((c) => c.isReference)!;
  const other = run.cells.find((c) => c.method.params.scale === 3)!;
  // The fixture's samples take 1 + scale ms: 2 ms for the reference, 4 ms for scale 3.
  assertEquals(reference.latency?.wall.p50, 2);
  assertEquals(reference.speedup, 1);
  assertEquals(other.speedup, 0.5);
  assertEquals(other.metrics.achieved_gflops, 8 / (4 * 1e6));
});

Deno.test("runCells() skips methods whose requirements are missing, keeping CPU reference metrics", async () => {
  const methods = [echoMethod("echo-dense", "ok"), gpuOnlyEchoMethod("echo-gpu")];
  const run = await runCells(plan(methods), emptyRun(), noGpu, options, () => Promise.resolve());
  const gpuCell = run.cells.find((c) => c.method.id === "echo-gpu")!;
  assertEquals(gpuCell.status, "skipped");
  assertStringIncludes(gpuCell.error!, "no adapter in this test");
  assert(gpuCell.metrics.value > 0);
  assertEquals(gpuCell.latency, null);
});

Deno.test("runCells() on a resumed run runs only the missing cells", async () => {
  const log: string[] = [];
  const methods = [echoMethod("echo-dense", "ok", log), echoMethod("echo-other", "ok", log)];
  const groups = plan(methods);
  const first = await runCells(groups, emptyRun(), noGpu, options, () => Promise.resolve());
  // Pretend the run was interrupted after its first cell.
  const partial: RunFile = { ...first, cells: first.cells.slice(0, 1) };
  log.length = 0;
  const resumed = await runCells(groups, partial, noGpu, options, () => Promise.resolve());
  assertEquals(resumed.cells.map((c) => c.method.id).sort(), ["echo-dense", "echo-other"]);
  assert(log.every((entry) => entry.startsWith("echo-other")), `only the missing cell ran: ${log}`);
});

Deno.test("runCells() writes --dump tensors with a manifest", async () => {
  const dir = await Deno.makeTempDir();
  const methods = [echoMethod("echo-dense", "ok")];
  await runCells(
    plan(methods),
    emptyRun(),
    noGpu,
    { ...options, dumpDir: dir },
    () => Promise.resolve(),
  );
  const manifest = JSON.parse(await Deno.readTextFile(`${dir}/manifest.json`));
  const file = manifest.cells[0].files[0];
  assertEquals(file.shape, [8]);
  const bytes = await Deno.readFile(`${dir}/${file.file}`);
  assertEquals(bytes.length, 8 * 4);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("runCells() records the cells of a case whose data is missing as skipped, with the reason", async () => {
  const missing = {
    ...echoTask,
    impl: { prepare: () => Promise.reject(new SkipCase("npm package x@1 is not available")) },
  };
  const methods = [echoMethod("echo-dense", "ok")];
  const groups = planRun({ profile: "smoke", tasks: [missing], methods, overrides: {} }, methods);
  const run = await runCells(groups, emptyRun(), noGpu, options, () => Promise.resolve());
  assertEquals(run.cells.map((c) => c.status), ["skipped"]);
  assertStringIncludes(run.cells[0].error!, "npm package x@1 is not available");
});
