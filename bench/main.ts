// `deno task bench`: select, plan, run, save after every cell, summarize.
import { methodRegistry } from "../methods/mod.ts";
import { taskRegistry } from "../datasets/mod.ts";
import { parseBenchArgs, USAGE, UsageError } from "./cli/args.ts";
import { Progress } from "./cli/progress.ts";
import { fidelityLines, sameWorkLines, summaryTable } from "./cli/summary_table.ts";
import { collectEnvironment } from "./environment.ts";
import { GpuProvider } from "./gpu/device.ts";
import {
  type Method,
  type ParamSpec,
  type ParamValue,
  parseParamValue,
  type Task,
} from "./metadata.ts";
import { fits, PlanError, planRun } from "./plan.ts";
import type { TaskImpl } from "./plugin.ts";
import { PROFILE_SETTINGS } from "./profiles.ts";
import { Registry, RegistryError } from "./registry.ts";
import { runCells } from "./runner.ts";
import { readRunFile, RunFileError, writeRunFile } from "./results/run_file.ts";
import { type RunFile, SCHEMA_VERSION } from "./results/schema.ts";
import { unknownNameMessage } from "./suggest.ts";
import { caseCosts, caseId, type ShardPlan, shardPlan } from "./shard.ts";

/** The earlier run files of a profile in `dir` (unreadable ones skipped): a shard's history. */
async function runHistory(dir: string, profile: string): Promise<RunFile[]> {
  const runs: RunFile[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) {
      if (!entry.isFile || !entry.name.endsWith(".json")) continue;
      try {
        const run = await readRunFile(`${dir}/${entry.name}`);
        if (run.profile === profile) runs.push(run);
      } catch {
        // A broken file has no cost to offer; the bench and the server report it elsewhere.
      }
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return runs.sort((a, b) => a.runId.localeCompare(b.runId));
}

/** A fresh run id: UTC time to the second plus a random suffix, safe as a file name. */
export function newRunId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
  return `${stamp}-${crypto.randomUUID().slice(0, 6)}`;
}

function listing(
  methods: Registry<Method>,
  tasks: Registry<Task<TaskImpl>>,
  json: boolean,
): string {
  if (json) {
    return JSON.stringify(
      {
        methods: methods.list().map((m) => m.meta),
        tasks: tasks.list().map((t) => t.meta),
      },
      null,
      2,
    );
  }
  const lines = ["Methods:"];
  for (const m of methods.list()) {
    lines.push(
      `  ${m.meta.id.padEnd(28)} ${m.meta.family.padEnd(10)} ${
        m.meta.fidelity.level.padEnd(10)
      } ${m.meta.title} — ${m.meta.paper.title} (${m.meta.paper.year})`,
    );
  }
  lines.push("", "Tasks:");
  for (const t of tasks.list()) {
    lines.push(
      `  ${t.meta.id.padEnd(28)} ${
        t.meta.family.padEnd(10)
      } ${t.meta.title} (main metric ${t.meta.mainMetric}, baseline ${t.meta.referenceMethod})`,
    );
  }
  return lines.join("\n");
}

/** The spec of a scoped `id.name` parameter, from the one selected task or method it names. */
function scopedSpec(scoped: string, tasks: Task[], methods: Method[]): ParamSpec[] {
  const [id, name] = scoped.split(".");
  const owner = [...tasks, ...methods].find((p) => p.meta.id === id);
  if (!owner) {
    throw new UsageError(
      `${unknownNameMessage("id", id, [...tasks, ...methods].map((p) => p.meta.id))} ` +
        `(in '${scoped}': a scoped --param names a selected method or task)`,
    );
  }
  const spec = owner.meta.parameters[name];
  if (!spec) {
    throw new UsageError(
      `${id}: ${unknownNameMessage("parameter", name, Object.keys(owner.meta.parameters))}`,
    );
  }
  return [spec];
}

/**
 * Checks `--param` values against every selected task's and method's spec of that name (or, for
 * `id.name`, against that one task's or method's).
 */
function parseOverrides(
  raw: Record<string, string[]>,
  tasks: Task[],
  methods: Method[],
): Record<string, ParamValue[]> {
  const specs = new Map<string, ParamSpec[]>();
  for (const p of [...tasks, ...methods]) {
    for (const [name, spec] of Object.entries(p.meta.parameters)) {
      specs.set(name, [...(specs.get(name) ?? []), spec]);
    }
  }
  const out: Record<string, ParamValue[]> = {};
  for (const [name, texts] of Object.entries(raw)) {
    const found = name.includes(".") ? scopedSpec(name, tasks, methods) : specs.get(name);
    if (!found) throw new UsageError(unknownNameMessage("parameter", name, [...specs.keys()]));
    try {
      out[name] = texts.map((t) => {
        const values = found.map((spec) => parseParamValue(name, spec, t));
        return values[0];
      });
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
  }
  return out;
}

function selectPlugins<T extends { meta: { id: string; family: string } }>(
  registry: Registry<T>,
  ids: string[],
  families: string[],
): T[] {
  const chosen = ids.length > 0 ? ids.map((id) => registry.get(id)) : registry.list();
  return families.length > 0 ? chosen.filter((p) => families.includes(p.meta.family)) : chosen;
}

/**
 * Runs the bench command line.
 *
 * @returns the process exit code: 0 done, 2 bad arguments, 1 an internal error, 130 interrupted
 */
export async function main(argv: string[]): Promise<number> {
  let args;
  try {
    args = parseBenchArgs(argv);
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`error: ${error.message}\nRun 'deno task bench --help' for the options.`);
      return 2;
    }
    throw error;
  }
  if (args.help) {
    console.log(USAGE);
    return 0;
  }
  const methods = methodRegistry().freeze();
  const tasks = taskRegistry().freeze();
  if (args.list) {
    console.log(listing(methods, tasks, args.json));
    return 0;
  }

  let resumed: RunFile | null = null;
  let groups;
  let overrides: Record<string, ParamValue[]>;
  let sharded: ShardPlan | null = null;
  try {
    if (args.resume) {
      resumed = await readRunFile(`${args.outDir}/${args.resume}.json`);
      const o = resumed.options;
      Object.assign(args, {
        profile: resumed.profile,
        seed: resumed.seed,
        families: o.families,
        methods: o.methods,
        tasks: o.tasks,
        shard: o.shard ? { index: o.shard.index, count: o.shard.count } : null,
      });
      args.params = Object.fromEntries(
        Object.entries(o.params).map(([k, v]) => [k, v.map(String)]),
      );
    }
    const selectedTasks = selectPlugins(tasks, args.tasks, args.families);
    // Without --method, every method that fits a selected task (a family's methods may declare
    // features only some of its tasks require); an explicit method that fits no selected task is
    // an error (planRun says so).
    const selectedMethods = selectPlugins(methods, args.methods, args.families)
      .filter((m) => args.methods.length > 0 || selectedTasks.some((t) => fits(t, m)));
    overrides = parseOverrides(args.params, selectedTasks, selectedMethods);
    groups = planRun({
      profile: args.profile,
      tasks: selectedTasks,
      methods: selectedMethods,
      overrides,
    }, methods.list());
    if (groups.length === 0) {
      throw new UsageError("Nothing to run: the selection holds no task with a fitting method.");
    }
    const resumedShard = resumed?.options.shard;
    if (resumedShard) {
      // A resumed shard runs the cases it was given, whatever history has been added since.
      const mine = new Set(resumedShard.cases);
      sharded = {
        groups: groups.filter((g) => mine.has(caseId(g.task.meta.id, g.caseKey))),
        planHash: resumedShard.planHash,
        shardCosts: [],
      };
      groups = sharded.groups;
    } else if (args.shard) {
      sharded = shardPlan(
        groups,
        args.shard,
        caseCosts(await runHistory(args.outDir, args.profile)),
      );
      groups = sharded.groups;
      const costs = sharded.shardCosts.map((c) => Math.round(c)).join(", ");
      console.error(
        `shard ${args.shard.index}/${args.shard.count}: ${groups.length} cases (estimated cost per shard: ${costs}; plan ${sharded.planHash})`,
      );
    }
  } catch (error) {
    if (
      error instanceof UsageError || error instanceof RegistryError || error instanceof PlanError ||
      error instanceof RunFileError
    ) {
      console.error(`error: ${error.message}`);
      return 2;
    }
    throw error;
  }

  const settings = PROFILE_SETTINGS[args.profile];
  const gpu = new GpuProvider();
  const context = await gpu.current();
  const path = `${args.outDir}/${resumed?.runId ?? newRunId()}.json`;
  await Deno.mkdir(args.outDir, { recursive: true });
  const run: RunFile = resumed ? { ...resumed, status: "running", endedAt: null } : {
    schemaVersion: SCHEMA_VERSION,
    runId: path.slice(args.outDir.length + 1, -5),
    status: "running",
    startedAt: new Date().toISOString(),
    endedAt: null,
    profile: args.profile,
    seed: args.seed,
    verified: true,
    options: {
      families: args.families,
      methods: args.methods,
      tasks: args.tasks,
      params: overrides,
      warmup: settings.sampling.warmup,
      runs: settings.sampling.minRuns,
      maxRuns: settings.sampling.maxRuns,
      targetRelativeHalfWidth: settings.sampling.targetRelativeHalfWidth,
      samplingBudgetMs: settings.sampling.budgetMs,
      minSampleMs: settings.sampling.minSampleMs,
      timeLimitMs: args.timeLimitMs ?? settings.timeLimitMs,
      shard: args.shard && sharded
        ? {
          index: args.shard.index,
          count: args.shard.count,
          planHash: sharded.planHash,
          cases: sharded.groups.map((g) => caseId(g.task.meta.id, g.caseKey)),
        }
        : null,
    },
    environment: await collectEnvironment(context?.info ?? null, gpu.unavailableReason),
    cells: [],
  };
  if (!context) console.error(`warning: ${gpu.unavailableReason}; GPU methods will be skipped.`);
  const save = (r: RunFile) => writeRunFile(path, r);
  await save(run);

  const onInterrupt = () => {
    run.status = "interrupted";
    run.endedAt = new Date().toISOString();
    writeRunFile(path, run).finally(() => {
      console.error(
        `\ninterrupted: kept ${run.cells.length} finished cells in ${path} (finish with --resume ${run.runId})`,
      );
      Deno.exit(130);
    });
  };
  Deno.addSignalListener("SIGINT", onInterrupt);

  const progress = new Progress();
  const o = run.options;
  await runCells(run, {
    groups,
    gpu,
    sampling: {
      warmup: o.warmup,
      minRuns: o.runs,
      maxRuns: o.maxRuns,
      targetRelativeHalfWidth: o.targetRelativeHalfWidth ??
        settings.sampling.targetRelativeHalfWidth,
      budgetMs: o.samplingBudgetMs ?? settings.sampling.budgetMs,
      minSampleMs: o.minSampleMs,
    },
    timeLimitMs: o.timeLimitMs,
    dumpDir: args.dumpDir,
    save,
    hooks: {
      onCellStart: (i, n, cell) => progress.start(i, n, cell),
      onCellDone: (i, n, cell) => progress.done(i, n, cell),
    },
  });
  Deno.removeSignalListener("SIGINT", onInterrupt);
  run.status = "complete";
  run.endedAt = new Date().toISOString();
  await save(run);
  gpu.destroy();

  if (args.json) {
    console.log(JSON.stringify(run, null, 2));
  } else {
    console.log(`\n${summaryTable(run)}\n`);
    const labels = fidelityLines(run);
    if (labels.length > 0) console.log(`${labels.join("\n")}\n`);
    const sameWork = sameWorkLines(run);
    if (sameWork.length > 0) console.log(`${sameWork.join("\n")}\n`);
    const counts = ["ok", "failed", "timeout", "skipped"].map((s) =>
      `${run.cells.filter((c) => c.status === s).length} ${s}`
    );
    console.log(`${run.cells.length} cells (${counts.join(", ")}) → ${path}`);
  }
  return 0;
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (error) {
    console.error(`sparsebench: internal error: ${(error as Error).message ?? error}`);
    if (Deno.env.get("SPARSEBENCH_DEBUG")) console.error(error);
    Deno.exit(1);
  }
}
