// Splitting a planned run across machines: `deno task bench --shard i/n` runs the i-th of n
// deterministic parts. Whole cases go together, so every method of a case is still interleaved
// with its baseline on one machine and its speed-up pairs rounds of the same machine. Cases are
// balanced by their cost in earlier run files of the same profile where those have them.
import type { CaseGroup } from "./plan.ts";
import { hashString } from "./random.ts";
import type { RunFile } from "./results/schema.ts";

/** Which part of the plan a machine runs: `index` of `count`, from 1. */
export interface ShardSpec {
  index: number;
  count: number;
}

/**
 * Parses `i/n` (1 ≤ i ≤ n).
 *
 * @throws {RangeError} naming the expected form for anything else
 */
export function parseShard(text: string): ShardSpec {
  const match = /^(\d+)\/(\d+)$/.exec(text.trim());
  const index = match ? Number(match[1]) : NaN;
  const count = match ? Number(match[2]) : NaN;
  if (!match || count < 1 || index < 1 || index > count) {
    throw new RangeError(`--shard must be i/n with 1 ≤ i ≤ n, e.g. 2/4: got '${text}'`);
  }
  return { index, count };
}

/** A case's key across runs: its task and case parameters. */
export function caseId(taskId: string, caseKey: string): string {
  return `${taskId}|${caseKey}`;
}

/**
 * Each case's cost (ms, the sum of its cells' start-to-end times) in the newest of `history`
 * holding it; runs of other profiles are left out by the caller.
 *
 * @param history earlier run files, any order
 */
export function caseCosts(history: readonly RunFile[]): Map<string, number> {
  const costs = new Map<string, { ms: number; startedAt: string }>();
  for (const run of history) {
    const byCase = new Map<string, number>();
    for (const cell of run.cells) {
      const key = caseId(cell.task.id, cell.key.split("|")[1] ?? "");
      const ms = Date.parse(cell.endedAt) - Date.parse(cell.startedAt);
      if (Number.isFinite(ms) && ms >= 0) byCase.set(key, (byCase.get(key) ?? 0) + ms);
    }
    for (const [key, ms] of byCase) {
      const seen = costs.get(key);
      if (!seen || run.startedAt > seen.startedAt) costs.set(key, { ms, startedAt: run.startedAt });
    }
  }
  return new Map([...costs].map(([k, v]) => [k, v.ms]));
}

/** The cases a shard runs, with a fingerprint of the whole split (every shard's must agree). */
export interface ShardPlan {
  groups: CaseGroup[];
  /** Hash of every case's key and shard: shards planned from different inputs differ here. */
  planHash: string;
  /** Estimated cost of each shard (ms, or cells where no history holds a case). */
  shardCosts: number[];
}

/**
 * Splits the plan's cases over `count` shards by longest-processing-time-first: cases in
 * decreasing cost (ties by key) each go to the least loaded shard (ties to the lowest index).
 * A case without history costs its cell count times the mean per-cell cost of those with history
 * (1 per cell when none has any). Deterministic for the same plan and history.
 *
 * @param groups the whole plan, in plan order
 * @param shard which part to return
 * @param costs {@link caseCosts} of earlier runs
 * @returns the shard's cases in plan order, and the split's fingerprint
 */
export function shardPlan(
  groups: readonly CaseGroup[],
  shard: ShardSpec,
  costs: ReadonlyMap<string, number> = new Map(),
): ShardPlan {
  const keyOf = (g: CaseGroup) => caseId(g.task.meta.id, g.caseKey);
  let known = 0, knownCells = 0;
  for (const g of groups) {
    const c = costs.get(keyOf(g));
    if (c !== undefined) {
      known += c;
      knownCells += g.cells.length;
    }
  }
  const perCell = knownCells > 0 ? known / knownCells : 1;
  const cost = (g: CaseGroup) => costs.get(keyOf(g)) ?? g.cells.length * perCell;
  const order = groups.map((g, i) => ({ g, i, c: cost(g), k: keyOf(g) }))
    .sort((a, b) => b.c - a.c || (a.k < b.k ? -1 : a.k > b.k ? 1 : 0));
  const load = new Array<number>(shard.count).fill(0);
  const assigned = new Map<number, number>();
  for (const { i, c } of order) {
    let best = 0;
    for (let s = 1; s < shard.count; s++) if (load[s] < load[best]) best = s;
    load[best] += c;
    assigned.set(i, best + 1);
  }
  const planText = groups.map((g, i) => `${keyOf(g)}=${assigned.get(i)}`).join("\n");
  return {
    groups: groups.filter((_, i) => assigned.get(i) === shard.index),
    planHash: hashString(`${shard.count}\n${planText}`).toString(16).padStart(8, "0"),
    shardCosts: load,
  };
}
