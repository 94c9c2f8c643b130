// The sharded bench as CI runs it: two shards on "two machines", merged, against one run.
import { assert, assertEquals, assertThrows } from "../tests/assert.ts";
import { MergeError, mergeShards } from "./merge.ts";
import { readRunFile } from "./results/run_file.ts";
import type { RunFile } from "./results/schema.ts";

const MAIN = new URL("./main.ts", import.meta.url).pathname;
const MERGE = new URL("./merge.ts", import.meta.url).pathname;

async function run(script: string, args: string[]): Promise<{ code: number; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", script, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

async function only(dir: string): Promise<RunFile> {
  const names = [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.endsWith(".json"));
  assertEquals(names.length, 1, `${dir}: ${names}`);
  return await readRunFile(`${dir}/${names[0]}`);
}

// Quality figures are deterministic; timings are not, so they are left out of the comparison.
// postings_per_query averages the timed rounds' queries, so it depends on how many rounds ran;
// tuning_cached says whether an earlier run had tuned the same case.
const TIMED =
  /^(qps|latency_|index_build_ms|analysis_ms|tuning_ms|tuning_cached|timed_rounds|achieved_gflops|postings_per_query)/;
const quality = (r: RunFile) =>
  Object.fromEntries(
    r.cells.map((c) => [
      c.key,
      {
        status: c.status,
        metrics: Object.fromEntries(Object.entries(c.metrics).filter(([k]) => !TIMED.test(k))),
      },
    ]),
  );

Deno.test("bench --shard 1/2 and 2/2, merged, hold the unsharded run's cells and metrics", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // Two cases of one task (whole cases go to one shard), BM25 beside the tuned reference.
    const common = [
      "--task",
      "spam-known-item-retrieval",
      "--profile",
      "smoke",
      "--method",
      "bm25",
      "--param",
      "spam-known-item-retrieval.queries=40,60",
      "--seed",
      "3",
    ];
    for (
      const [name, extra] of [["all", []], ["s1", ["--shard", "1/2"]], ["s2", ["--shard", "2/2"]]]
    ) {
      const r = await run(MAIN, [...common, ...extra, "--out", `${dir}/${name}`]);
      assertEquals(r.code, 0, r.stderr);
    }
    const [all, s1, s2] = await Promise.all(["all", "s1", "s2"].map((d) => only(`${dir}/${d}`)));
    assertEquals(s1.cells.length, 2);
    assertEquals(s2.cells.length, 2);
    const out = `${dir}/merged.json`;
    const merged = await run(MERGE, [
      `${dir}/s2/${s2.runId}.json`,
      `${dir}/s1/${s1.runId}.json`,
      "--out",
      out,
    ]);
    assertEquals(merged.code, 0, merged.stderr);
    const m = await readRunFile(out);
    assertEquals(m.runId, "merged");
    assertEquals(m.options.shard, null);
    assertEquals(m.shards?.map((s) => s.runId), [s1.runId, s2.runId]);
    assertEquals(quality(m), quality(all));
    for (const c of m.cells) assert(c.shard === 1 || c.shard === 2);
    // Every speed-up pairs a cell with its own case's baseline, on the shard that ran both.
    for (const c of m.cells) if (c.status === "ok") assert(c.speedup !== null, c.key);
    // A shard given twice, or one missing, is refused with the reason, exit 2.
    const twice = await run(MERGE, [
      `${dir}/s1/${s1.runId}.json`,
      `${dir}/s1/${s1.runId}.json`,
      "--out",
      `${dir}/x.json`,
    ]);
    assertEquals(twice.code, 2);
    assert(twice.stderr.includes("Shard 1 of 2 is given 2 times"), twice.stderr);
    const unsharded = await run(MERGE, [`${dir}/all/${all.runId}.json`, "--out", `${dir}/x.json`]);
    assert(unsharded.stderr.includes("is not a shard"), unsharded.stderr);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("mergeShards() refuses shards of different seeds, plans or commits, naming the shard", () => {
  const shard = (index: number, patch: Partial<RunFile> = {}, planHash = "p") =>
    ({
      schemaVersion: 2,
      runId: `r${index}`,
      status: "complete",
      startedAt: `2026-01-0${index}`,
      endedAt: `2026-01-0${index}`,
      profile: "smoke",
      seed: 0,
      verified: true,
      options: { shard: { index, count: 2, planHash, cases: [] } },
      environment: { git: { commit: "abc" } },
      cells: [],
      ...patch,
    }) as unknown as RunFile;
  assertEquals(mergeShards([shard(2), shard(1)], "m").shards?.length, 2);
  assertThrows(() => mergeShards([shard(1), shard(2, { seed: 1 })], "m"), MergeError, "r2");
  assertThrows(() => mergeShards([shard(1), shard(2, {}, "q")], "m"), MergeError, "its plan (q)");
  assertThrows(
    () =>
      mergeShards([shard(1), shard(2, { environment: { git: { commit: "def" } } } as never)], "m"),
    MergeError,
    "commit def",
  );
  assertThrows(() => mergeShards([shard(1)], "m"), MergeError, "Shard 2 of 2 is missing");
});
