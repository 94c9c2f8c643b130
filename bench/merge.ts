// `deno task merge SHARD.json… --out RUN.json`: one run from the shards of a `--shard i/n` plan.
// Shards must be of one commit, profile, seed, options and split (plan hash), each index once;
// the merged file keeps every shard's environment, and each cell names the shard it ran in.
import { parseArgs } from "node:util";
import { readRunFile, writeRunFile } from "./results/run_file.ts";
import type { RunFile } from "./results/schema.ts";

/** Shards that cannot be merged: printed without a stack trace, exit code 2. */
export class MergeError extends Error {
  override name = "MergeError";
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * Merges validated shard run files.
 *
 * @param shards every shard of one plan, any order
 * @param runId the merged run's id
 * @returns the merged run: cells in shard order, `shards` with each one's environment
 * @throws {MergeError} saying which shard differs and how, or which index is missing or repeated
 */
export function mergeShards(shards: readonly RunFile[], runId: string): RunFile {
  if (shards.length === 0) throw new MergeError("Nothing to merge: give the shards' run files");
  const unsharded = shards.find((s) => !s.options.shard);
  if (unsharded) {
    throw new MergeError(`Run ${unsharded.runId} is not a shard (it ran without --shard)`);
  }
  const sorted = shards.slice().sort((a, b) => a.options.shard!.index - b.options.shard!.index);
  const first = sorted[0];
  const { count, planHash } = first.options.shard!;
  const commit = (r: RunFile) => r.environment.git?.commit ?? null;
  const { shard: _shard, ...firstOptions } = first.options;
  for (const s of sorted) {
    const { shard, ...options } = s.options;
    const differs = [
      shard!.count !== count && `it is one of ${shard!.count} shards, not ${count}`,
      shard!.planHash !== planHash &&
      `its plan (${
        shard!.planHash
      }) differs from ${first.runId}'s (${planHash}): planned from other tasks, methods, parameters or history`,
      commit(s) !== commit(first) && `it ran commit ${commit(s)}, not ${commit(first)}`,
      s.profile !== first.profile && `its profile is ${s.profile}, not ${first.profile}`,
      s.seed !== first.seed && `its seed is ${s.seed}, not ${first.seed}`,
      !sameJson(options, firstOptions) && "its options differ",
      s.schemaVersion !== first.schemaVersion && "its schema version differs",
    ].filter(Boolean);
    if (differs.length > 0) {
      throw new MergeError(
        `Cannot merge shard ${s.runId} with ${first.runId}: ${differs.join("; ")}`,
      );
    }
  }
  const indices = sorted.map((s) => s.options.shard!.index);
  for (let i = 1; i <= count; i++) {
    const n = indices.filter((x) => x === i).length;
    if (n !== 1) {
      throw new MergeError(
        n === 0
          ? `Shard ${i} of ${count} is missing (got ${indices.join(", ")})`
          : `Shard ${i} of ${count} is given ${n} times`,
      );
    }
  }
  const keys = new Set<string>();
  for (const s of sorted) {
    for (const c of s.cells) {
      if (keys.has(c.key)) throw new MergeError(`Cell '${c.key}' is in two shards`);
      keys.add(c.key);
    }
  }
  const times = sorted.map((s) => s.startedAt).sort();
  const ends = sorted.map((s) => s.endedAt);
  return {
    schemaVersion: first.schemaVersion,
    runId,
    status: sorted.every((s) => s.status === "complete") ? "complete" : "interrupted",
    startedAt: times[0],
    endedAt: ends.includes(null) ? null : (ends as string[]).sort().at(-1)!,
    profile: first.profile,
    seed: first.seed,
    verified: sorted.every((s) => s.verified),
    options: { ...firstOptions, shard: null },
    environment: first.environment,
    cells: sorted.flatMap((s) => s.cells.map((c) => ({ ...c, shard: s.options.shard!.index }))),
    shards: sorted.map((s) => ({
      index: s.options.shard!.index,
      count,
      runId: s.runId,
      status: s.status,
      startedAt: s.startedAt,
      endedAt: s.endedAt,
      environment: s.environment,
    })),
  };
}

if (import.meta.main) {
  const usage = "usage: deno task merge SHARD.json [SHARD.json]... --out RUN.json";
  let parsed;
  try {
    parsed = parseArgs({
      args: Deno.args,
      allowPositionals: true,
      options: { out: { type: "string" } },
    });
  } catch (error) {
    console.error(`error: ${(error as Error).message}\n${usage}`);
    Deno.exit(2);
  }
  const out = parsed.values.out;
  if (!out || parsed.positionals.length === 0) {
    console.error(usage);
    Deno.exit(2);
  }
  try {
    const shards = await Promise.all(parsed.positionals.map((p) => readRunFile(p)));
    const runId = out.split("/").pop()!.replace(/\.json$/, "");
    await writeRunFile(out, mergeShards(shards, runId));
    console.log(`wrote ${out}: ${shards.length} shards`);
  } catch (error) {
    console.error(`error: ${(error as Error).message}`);
    Deno.exit(error instanceof MergeError ? 2 : 1);
  }
}
