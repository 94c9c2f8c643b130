// The GitHub workflows, checked where they can be without GitHub: they parse, call only tasks
// that exist, pin every action to a version, install only packages the chosen image has, and the
// nightly pipeline's own steps (.github/run-local.sh) run end to end on a tiny plan.
import { assert, assertEquals } from "./assert.ts";
import { parse } from "yaml";

const ROOT = new URL("../", import.meta.url);
const read = (path: string) => Deno.readTextFileSync(new URL(path, ROOT));
const WORKFLOWS = ["ci.yml", "nightly.yml"];

interface Step {
  run?: string;
  uses?: string;
}
interface Job {
  "runs-on": string | string[];
  container?: string;
  steps: Step[];
}

const jobs = (file: string): [string, Job][] =>
  Object.entries((parse(read(`.github/workflows/${file}`)) as { jobs: Record<string, Job> }).jobs);
const runs = (file: string) => jobs(file).flatMap(([, j]) => j.steps.flatMap((s) => s.run ?? []));
const scripts = () =>
  [...Deno.readDirSync(new URL(".github/", ROOT))]
    .filter((e) => e.isFile && e.name.endsWith(".sh")).map((e) => read(`.github/${e.name}`));

Deno.test("the workflows parse and call only deno tasks and scripts that exist", () => {
  const tasks = Object.keys(JSON.parse(read("deno.json")).tasks);
  const texts = [...WORKFLOWS.flatMap(runs), ...scripts()];
  let calls = 0;
  for (const text of texts) {
    for (const [, task] of text.matchAll(/deno(?:@[\d.]+)? task ([a-z-]+)/g)) {
      calls++;
      assert(tasks.includes(task), `deno task ${task} is not in deno.json's tasks`);
    }
    for (const [, script] of text.matchAll(/(\.(?:github|ci)\/[\w./-]+?)(?=["'\s]|$)/g)) {
      const info = Deno.statSync(new URL(script, ROOT));
      assert(info.isFile && (info.mode! & 0o111) !== 0, `${script} is missing or not executable`);
    }
  }
  assert(calls >= 4, `found ${calls} deno task calls`);
});

Deno.test("every action is pinned to a full version or a commit", () => {
  for (const file of WORKFLOWS) {
    for (const [name, job] of jobs(file)) {
      for (const step of job.steps) {
        if (!step.uses) continue;
        assert(
          /@(v\d+\.\d+\.\d+|[0-9a-f]{40})$/.test(step.uses),
          `${file} ${name}: '${step.uses}' is not pinned to vX.Y.Z or a commit`,
        );
      }
    }
  }
});

Deno.test("hosted jobs run in Debian's image and install only packages it has", async () => {
  const packages = new Set<string>();
  for (const file of WORKFLOWS) {
    for (const [name, job] of jobs(file)) {
      const selfHosted = ([] as string[]).concat(job["runs-on"]).includes("self-hosted");
      const installs = job.steps.some((s) => s.run?.includes("apt-get install"));
      if (!selfHosted && installs) {
        assertEquals(job.container, "debian:bookworm", `${file} ${name}`);
      }
      for (const s of job.steps) {
        for (const [, list] of (s.run ?? "").matchAll(/apt-get install ([^&|;\n]+)/g)) {
          for (const p of list.split(/\s+/)) if (p && !p.startsWith("-")) packages.add(p);
        }
      }
    }
  }
  assert(packages.has("mesa-vulkan-drivers") && packages.has("dataset-fashion-mnist"));
  // Checked against this machine's package lists where it is the same image (CI's is).
  const release = (() => {
    try {
      return Deno.readTextFileSync("/etc/os-release");
    } catch {
      return "";
    }
  })();
  if (!/VERSION_CODENAME=bookworm/.test(release)) return;
  for (const p of packages) {
    const out = await new Deno.Command("apt-cache", {
      args: ["show", p],
      stdout: "null",
      stderr: "null",
    })
      .output().catch(() => null);
    if (out === null) return; // no apt-cache here
    assert(out.success, `Debian bookworm has no package '${p}'`);
  }
});

Deno.test({
  name:
    ".github/run-local.sh runs the nightly steps (two shards, merge, site with /run) on a tiny plan",
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      const out = await new Deno.Command("bash", {
        args: [new URL(".github/run-local.sh", ROOT).pathname, dir],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const log = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
      assertEquals(out.code, 0, log.slice(-3000));
      const merged = [...Deno.readDirSync(`${dir}/runs`)].map((e) => e.name);
      assertEquals(merged.length, 1, `${merged}`);
      assert(merged[0].endsWith("-nightly-retrieval.json"), merged[0]);
      const run = JSON.parse(Deno.readTextFileSync(`${dir}/runs/${merged[0]}`));
      assertEquals(run.shards.length, 2);
      assertEquals(new Set(run.cells.map((c: { shard: number }) => c.shard)), new Set([1, 2]));
      assert(Deno.statSync(`${dir}/site/index.html`).isFile);
      // The published /run page needs the runner bundle, which `deno task site` builds.
      assert(Deno.statSync(`${dir}/site/static/runner.js`).size > 100_000);
      const page = Deno.readTextFileSync(`${dir}/site/run/index.html`);
      assert(page.includes('src="/static/runner.js"') && !page.includes("not built"), page);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
