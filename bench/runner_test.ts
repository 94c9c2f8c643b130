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
import type { CaseGroup } from "./plan.ts";

// The runner only asks the provider for a device; these tests need none.
const noGpu = {
  current: () => Promise.resolve(null),
  unavailableReason: "no adapter in this test",
  takeLostReason: () => null,
} as unknown as GpuProvider;

function plan(methods: Method[]) {
  return planRun({ profile: "smoke", tasks: [echoTask], methods, overrides: {} }, methods);
}

const sampling = {
  warmup: 1,
  minRuns: 3,
  maxRuns: 3,
  targetRelativeHalfWidth: 0.03,
  budgetMs: 0,
  minSampleMs: 10,
};

function run(
  groups: CaseGroup[],
  into: RunFile,
  options: { save?: (r: RunFile) => Promise<void>; dumpDir?: string; minRuns?: number } = {},
) {
  return runCells(into, {
    groups,
    gpu: noGpu,
    sampling: {
      ...sampling,
      minRuns: options.minRuns ?? 3,
      maxRuns: options.minRuns ?? 3,
    },
    timeLimitMs: 200,
    dumpDir: options.dumpDir ?? null,
    save: options.save ?? (() => Promise.resolve()),
  });
}

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
  const done = await run(plan(methods), emptyRun(), {
    save: async (r) => {
      saves.push(r.cells.length);
      await writeRunFile(path, r);
    },
  });
  const byId = Object.fromEntries(done.cells.map((c) => [c.method.id, c]));
  assertEquals(done.cells.length, 8);
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
  for (const c of done.cells) {
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
  await run(plan(methods), emptyRun(), { minRuns: 2 });
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
  const done = await run(groups, emptyRun());
  const reference = done.cells.find((c) => c.isReference)!;
  const other = done.cells.find((c) => c.method.params.scale === 3)!;
  // The fixture's samples take 1 + scale ms: 2 ms for the reference, 4 ms for scale 3.
  assertEquals(reference.latency?.wall.p50, 2);
  assertEquals(reference.speedup, { value: 1, ci95: [1, 1], clock: "wall", pairs: 3 });
  assertEquals(other.speedup, { value: 0.5, ci95: [0.5, 0.5], clock: "wall", pairs: 3 });
  assertEquals(other.latency?.wall.samples, [4, 4, 4]);
  assertEquals(other.latency?.rounds, [0, 1, 2]);
  assertEquals(other.metrics.achieved_gflops, 8 / (4 * 1e6));
});

Deno.test("runCells() skips methods whose requirements are missing, keeping CPU reference metrics", async () => {
  const methods = [echoMethod("echo-dense", "ok"), gpuOnlyEchoMethod("echo-gpu")];
  const done = await run(plan(methods), emptyRun());
  const gpuCell = done.cells.find((c) => c.method.id === "echo-gpu")!;
  assertEquals(gpuCell.status, "skipped");
  assertStringIncludes(gpuCell.error!, "no adapter in this test");
  assert(gpuCell.metrics.value > 0);
  assertEquals(gpuCell.latency, null);
});

Deno.test("runCells() on a resumed run runs only the missing cells", async () => {
  const log: string[] = [];
  const methods = [echoMethod("echo-dense", "ok", log), echoMethod("echo-other", "ok", log)];
  const groups = plan(methods);
  const first = await run(groups, emptyRun());
  // Pretend the run was interrupted after its first (reference) cell.
  const partial: RunFile = { ...first, cells: first.cells.slice(0, 1) };
  log.length = 0;
  const resumed = await run(groups, partial);
  assertEquals(resumed.cells.map((c) => c.method.id).sort(), ["echo-dense", "echo-other"]);
  assert(log.every((entry) => entry.startsWith("echo-other")), `only the missing cell ran: ${log}`);
  // Its rounds are another invocation's: the speed-up has no paired interval.
  const other = resumed.cells.find((c) => c.method.id === "echo-other")!;
  assertEquals(other.speedup?.pairs, 0);
  assertEquals(other.speedup?.ci95, null);
});

Deno.test("runCells() writes --dump tensors with a manifest", async () => {
  const dir = await Deno.makeTempDir();
  const methods = [echoMethod("echo-dense", "ok")];
  await run(plan(methods), emptyRun(), { dumpDir: dir });
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
  const done = await run(groups, emptyRun());
  assertEquals(done.cells.map((c) => c.status), ["skipped"]);
  assertStringIncludes(done.cells[0].error!, "npm package x@1 is not available");
});

Deno.test("runCells() records a trial's tuning with the value it ran at, and a SkipCase from bind as skipped", async () => {
  const tuning = {
    param: "scale",
    value: 2,
    targetDensity: 0.5,
    tolerance: 0.1,
    achievedDensity: 0.5,
    rows: 4,
    evaluations: 3,
    ms: 1,
  };
  const tuned = {
    ...echoTask,
    impl: {
      async prepare(caseParams: Record<string, number | string | boolean>, ctx: never) {
        const inner = await echoTask.impl.prepare(caseParams, ctx);
        return {
          ...inner,
          async bind(method: Method, params: Record<string, number | string | boolean>) {
            if (method.meta.id === "echo-unreachable") {
              throw new SkipCase("echo-unreachable cannot reach realized density 0.5");
            }
            const trial = await inner.bind(method, { ...params, scale: 2 });
            return { ...trial, tuning };
          },
        };
      },
    },
  };
  const methods = [echoMethod("echo-dense", "ok"), echoMethod("echo-unreachable", "ok")];
  const groups = planRun({ profile: "smoke", tasks: [tuned], methods, overrides: {} }, methods);
  const done = await run(groups, emptyRun());
  // A skipped cell is recorded at bind, before the sampled ones.
  const ok = done.cells.find((c) => c.method.id === "echo-dense")!;
  const skipped = done.cells.find((c) => c.method.id === "echo-unreachable")!;
  assertEquals([ok.status, ok.method.params.scale, ok.tuning], ["ok", 2, tuning]);
  // The key is the planned one, so --resume still matches it.
  assertStringIncludes(ok.key, "scale=1");
  assertEquals([skipped.status, skipped.tuning], ["skipped", undefined]);
  assertStringIncludes(skipped.error!, "cannot reach realized density 0.5");
});
