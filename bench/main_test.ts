// The bench command line as a user meets it: run as a subprocess.
import { assert, assertEquals, assertStringIncludes } from "../tests/assert.ts";
import { testGpu } from "../tests/gpu.ts";
import { readRunFile } from "./results/run_file.ts";

const MAIN = new URL("./main.ts", import.meta.url).pathname;

async function bench(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
}

const BAD_ARGUMENTS: [string[], string][] = [
  [["--bogus"], "Unknown option '--bogus'"],
  [["--profile", "fast"], "Unknown profile 'fast'. Valid profiles: full, quick, smoke."],
  [["--family", "atention"], "Did you mean 'attention'?"],
  [["--method", "dense"], "Unknown method 'dense'. Did you mean 'dense-attention'"],
  [["--task", "nope"], "Unknown task 'nope'. Valid tasks: "],
  [["--param", "windw=3"], "Unknown parameter 'windw'. Did you mean 'window'"],
  [["--param", "window=abc"], "Parameter 'window' must be an integer: got 'abc'"],
  [["--param", "window"], "--param must look like [id.]name=value"],
  [["--param", "sliding-window-attention.windw=3"], "Did you mean 'window'?"],
  [
    ["--param", "sliding-windw-attention.window=3"],
    "Unknown id 'sliding-windw-attention'. Did you mean 'sliding-window-attention'",
  ],
  [
    ["--param", "sliding-window-attention.window=x"],
    "Parameter 'sliding-window-attention.window' must be an integer",
  ],
  [["--seed=-1"], "--seed must be a number of at least 0"],
  [["--seed", "x"], "--seed must be a number of at least 0: got 'x'"],
  [["--resume", "../etc"], "--resume needs a run id"],
  [
    ["--resume", "no-such-run", "--out", "/nonexistent-dir"],
    "No run file at /nonexistent-dir/no-such-run.json",
  ],
  [["--profile"], "argument missing"],
  [["--time-limit", "0"], "--time-limit must be a number of at least 0.001: got '0'"],
];

for (const [args, message] of BAD_ARGUMENTS) {
  Deno.test(`bench ${args.join(" ")} exits 2 with a clear message and no stack trace`, async () => {
    const { code, stderr } = await bench(args);
    assertEquals(code, 2, stderr);
    assertStringIncludes(stderr, message);
    assert(!/\n\s+at /.test(stderr), `no stack trace: ${stderr}`);
  });
}

Deno.test("bench --list --json prints every method and task with family and paper", async () => {
  const { code, stdout } = await bench(["--list", "--json"]);
  assertEquals(code, 0);
  const listing = JSON.parse(stdout);
  assert(listing.methods.length >= 2 && listing.tasks.length >= 1);
  for (const m of listing.methods) assert(m.family && m.paper.title, m.id);
  for (const t of listing.tasks) assert(t.family && t.referenceMethod, t.id);
});

Deno.test({
  name:
    "bench --profile smoke on the attention family writes one valid run file with every cell ok, and --dump its tensors",
  ignore: testGpu === null,
  async fn() {
    const dir = await Deno.makeTempDir();
    // The whole smoke suite is the bench's job (CI runs it); here one family end to end.
    const { code, stdout, stderr } = await bench([
      ...["--profile", "smoke", "--task", "attention-fidelity", "--task", "attention-decoding"],
      ...["--out", `${dir}/runs`, "--dump", `${dir}/dump`],
    ]);
    assertEquals(code, 0, stderr);
    assertStringIncludes(stdout, "speed-up");
    const files = [...Deno.readDirSync(`${dir}/runs`)].map((e) => e.name);
    assertEquals(files.length, 1);
    const run = await readRunFile(`${dir}/runs/${files[0]}`);
    assertEquals(run.status, "complete");
    assert(run.cells.length >= 2);
    for (const cell of run.cells) {
      assertEquals(cell.status, "ok", `${cell.method.id}: ${cell.error}`);
    }
    const manifest = JSON.parse(await Deno.readTextFile(`${dir}/dump/manifest.json`));
    assertEquals(manifest.cells.length, run.cells.length);
    const q = manifest.cells[0].files.find((f: { name: string }) => f.name === "q");
    assertEquals(
      (await Deno.stat(`${dir}/dump/${q.file}`)).size,
      q.shape.reduce((a: number, b: number) => a * b, 4),
    );
    await Deno.remove(dir, { recursive: true });
  },
});

Deno.test({
  name: "an interrupted bench keeps its finished cells and --resume completes the run",
  ignore: testGpu === null,
  async fn() {
    const dir = await Deno.makeTempDir();
    // Two cases: the small one finishes quickly, the larger one is still running at the signal.
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        MAIN,
        ...[
          "--profile",
          "smoke",
          "--task",
          "attention-fidelity",
          "--method",
          "sliding-window-attention",
        ],
        ...["--param", "seq=128,1536", "--out", dir],
      ],
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
    let seen = "";
    while (!seen.includes("[2/4]")) {
      const { value, done } = await reader.read();
      if (done) break;
      seen += value;
    }
    child.kill("SIGINT");
    const rest = (async () => {
      while (!(await reader.read()).done) { /* drain */ }
    })();
    const status = await child.status;
    await rest;
    assertEquals(status.code, 130, seen);
    const [name] = [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.endsWith(".json"));
    const interrupted = await readRunFile(`${dir}/${name}`);
    assertEquals(interrupted.status, "interrupted");
    assertEquals(interrupted.cells.length, 2);

    const { code, stderr } = await bench(["--resume", interrupted.runId, "--out", dir]);
    assertEquals(code, 0, stderr);
    const finished = await readRunFile(`${dir}/${name}`);
    assertEquals(finished.status, "complete");
    assertEquals(finished.cells.length, 4);
    assertEquals(
      finished.cells.slice(0, 2),
      interrupted.cells.slice(0, 2).map((c) => ({ ...c, speedup: c.speedup })),
    );
    assertEquals(new Set(finished.cells.map((c) => c.key)).size, 4);
    await Deno.remove(dir, { recursive: true });
  },
});
