// spmm-crossover end to end on small cases: every kernel passes its check on wasm (and on
// webgpu where there is an adapter), a wrong output fails it, and cells that do not apply skip.
import { assert, assertEquals, assertRejects, assertStringIncludes } from "../../tests/assert.ts";
import { testGpu } from "../../tests/gpu.ts";
import { defineSpmmMethod, type SpmmKernel } from "../../bench/families/pruning/mod.ts";
import type { GpuContext } from "../../bench/gpu/device.ts";
import type { Method } from "../../bench/metadata.ts";
import { SkipCase, type TaskContext } from "../../bench/plugin.ts";
import { prepareSpmmCase, spmmCrossover } from "./spmm_crossover_task.ts";

// The tests' own methods: tasks import no method.
function kernelMethod(kernel: SpmmKernel): Method {
  return defineSpmmMethod({
    id: `test-${kernel.replace(":", "")}`,
    family: "pruning",
    title: kernel,
    description: "a crossover method of the task's tests",
    paper: { title: "None", year: 2024, link: "https://example.org" },
    fidelity: { level: "faithful", reason: "a test fixture" },
    version: "1.0.0",
    parameters: {},
    capabilities: { requires: [], features: ["spmm"] },
    impl: { kernel },
  }) as Method;
}

const KERNELS: SpmmKernel[] = ["dense", "csr", "n:m", "onnxruntime"];
const ctx: TaskContext = {
  gpu: null,
  seed: 3,
  taskSeed: 3,
  profile: "smoke",
  dump: false,
  minSampleMs: 1,
};

async function runCell(
  kernel: SpmmKernel,
  caseParams: { shape: string; density: number; batch: number; engine: string },
  options: { ctx?: TaskContext; tamper?: (kernel: SpmmKernel, y: Float32Array) => void } = {},
) {
  const prepared = await prepareSpmmCase(caseParams, options.ctx ?? ctx, {
    tamper: options.tamper,
  });
  try {
    const trial = await prepared.bind(kernelMethod(kernel), {});
    try {
      const sample = await trial.sample();
      assert(sample.wallMs > 0 && sample.reps >= 1);
      await trial.sample();
      return await trial.finish();
    } finally {
      trial.dispose();
    }
  } finally {
    prepared.dispose();
  }
}

Deno.test("spmm-crossover: every kernel passes its check on wasm, with its format's figures", async () => {
  for (const kernel of KERNELS) {
    const result = await runCell(kernel, {
      shape: "100x300",
      density: 20,
      batch: 5,
      engine: "wasm",
    });
    assert(result.check.passed, `${kernel}: ${result.check.description}`);
    assertEquals(result.metrics.checked_outputs, 5 * 100);
    assertEquals(result.metrics.density, 0.2);
    assertEquals(result.sparsity.realizedDensity, 0.2);
    assertEquals(result.flops, 2 * 100 * 60 * 5);
    const executed = { dense: 1, csr: 0.2, "n:m": 0.2, onnxruntime: 1 }[kernel];
    assertEquals(result.sparsity.flopsRatio, executed);
    const bytes = {
      dense: 4 * 100 * 300,
      csr: 8 * 100 * 60 + 4 * 101,
      "n:m": 4 * 100 * 60 + 100 * 30, // 1:5: 60 slots a row, 4-bit indices
      onnxruntime: 4 * 100 * 300,
    }[kernel];
    assertEquals(result.metrics.weight_bytes, bytes, kernel);
    if (kernel === "n:m") assertEquals([result.metrics.nm_n, result.metrics.nm_m], [1, 5]);
  }
});

Deno.test("spmm-crossover: a wrong, missing or unwritten output fails the check", async () => {
  const broken: [string, (y: Float32Array) => void][] = [
    ["one output off", (y) => void (y[17] *= 1.01)],
    ["one weight's term missing", (y) => void (y[0] += 0.5)],
    ["all zero", (y) => y.fill(0)],
    ["never written", (y) => y.fill(NaN)],
  ];
  for (const kernel of ["dense", "csr", "n:m"] as const) {
    for (const [what, tamper] of broken) {
      const result = await runCell(kernel, {
        shape: "128x512",
        density: 25,
        batch: 3,
        engine: "wasm",
      }, { tamper: (_, y) => tamper(y) });
      assert(!result.check.passed, `${kernel}, ${what}: passed`);
      assertStringIncludes(result.check.description, "differs");
    }
  }
});

Deno.test("spmm-crossover: cells that do not apply are skipped with the reason", async () => {
  const small = { shape: "100x300", density: 10, batch: 1 };
  await assertRejects(
    () => prepareSpmmCase({ ...small, engine: "webgpu" }, ctx),
    SkipCase,
    "WebGPU adapter",
  );
  await assertRejects(
    () => runCell("n:m", { ...small, density: 5, engine: "wasm" }),
    SkipCase,
    "no N:M pattern",
  );
  // The check comes before any use of the device, so a stand-in will do.
  const withGpu = { ...ctx, gpu: {} as GpuContext };
  await assertRejects(
    () => runCell("onnxruntime", { ...small, engine: "webgpu" }, { ctx: withGpu }),
    SkipCase,
    "no webgpu case",
  );
  await assertRejects(
    () =>
      prepareSpmmCase(
        { shape: "4096x4096", density: 10, batch: 256, engine: "wasm" },
        { ...ctx, profile: "quick" },
      ),
    SkipCase,
    "full profile runs it",
  );
});

Deno.test("spmm-crossover: the reference method and profiles fit the task", () => {
  const { meta } = spmmCrossover;
  assertEquals(meta.referenceMethod, "spmm-dense");
  assertEquals(meta.requiresFeatures, ["spmm"]);
  assertEquals(meta.profiles.smoke, {
    shape: ["100x300"],
    density: [10],
    batch: [1],
    engine: ["wasm"],
  });
});

Deno.test({
  name: "spmm-crossover: every GPU kernel passes its check on webgpu",
  ignore: !testGpu,
  async fn() {
    for (const kernel of ["dense", "csr", "n:m"] as const) {
      for (const batch of [1, 6]) {
        const result = await runCell(kernel, {
          shape: "384x128",
          density: 50,
          batch,
          engine: "webgpu",
        }, { ctx: { ...ctx, gpu: testGpu } });
        assert(result.check.passed, `${kernel} at batch ${batch}: ${result.check.description}`);
        assert(result.metrics.weight_bytes > 0);
      }
    }
  },
});

Deno.test("bench --task spmm-crossover --profile smoke runs the four kernels and no other method", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const main = new URL("../../bench/main.ts", import.meta.url).pathname;
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", main, "--task", "spmm-crossover", "--profile", "smoke", "--out", dir],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
    const [name] = [...Deno.readDirSync(dir)].map((e) => e.name);
    const run = JSON.parse(await Deno.readTextFile(`${dir}/${name}`));
    const cells = run.cells as { method: { id: string }; status: string; error: string }[];
    assertEquals(
      cells.map((c) => c.method.id).sort(),
      ["spmm-csr", "spmm-dense", "spmm-nm", "spmm-onnxruntime"],
    );
    for (const c of cells) assertEquals(c.status, "ok", `${c.method.id}: ${c.error}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
