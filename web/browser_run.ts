// One benchmark run in the page: the CLI's planner, runner, sampling, correctness gate and
// speed-ups (bench/), over the tasks and methods web/capabilities.ts declares, on the
// browser's adapter. The result is a standard run file (`source: "browser"`, unverified),
// validated against the same zod schema before anyone can download or send it.
import { z } from "zod";
import {
  type Method,
  type ParamSpec,
  type ParamValue,
  parseParamValue,
  type Profile,
} from "../bench/metadata.ts";
import { fits, PlanError, planRun } from "../bench/plan.ts";
import { PROFILE_SETTINGS } from "../bench/profiles.ts";
import { runCells, type RunnerHooks } from "../bench/runner.ts";
import { type Cell, RunFile, SCHEMA_VERSION } from "../bench/results/schema.ts";
import { BrowserGpuProvider } from "./browser_gpu.ts";
import { browserClient, browserEnvironment, type BuildInfo } from "./browser_environment.ts";
import { BROWSER_FAMILIES, BROWSER_METHODS, BROWSER_TASKS } from "./capabilities.ts";

/** Profiles the page offers: `full` needs hours and shapes no browser tab should hold. */
export const BROWSER_PROFILES = ["smoke", "quick"] as const;
export type BrowserProfile = (typeof BROWSER_PROFILES)[number];

/** What the visitor chose. */
export interface BrowserRunOptions {
  profile: BrowserProfile;
  families: string[];
  /** Only these tasks (empty: every task of the families). */
  tasks?: string[];
  /** Only these methods besides each task's baseline (empty: every method that fits). */
  methods?: string[];
  /**
   * Parameter values as the CLI's `--param` takes them, space-separated `name=value[,value…]`
   * (e.g. "engine=webgpu"): they replace the profile's values where a chosen task or method
   * has that parameter. Empty: the profile's.
   */
  params?: string;
  seed?: number;
}

/** Called as the run goes: a cell starts, a cell is recorded. */
export interface BrowserRunHooks {
  onPlanned?(cells: { key: string; task: string; method: string; params: string }[]): void;
  onCellStart?(key: string): void;
  onCellDone?(cell: Cell, run: RunFile): void;
}

/** Bad choices: a message for the page, never a stack trace. */
export class BrowserRunError extends Error {
  override name = "BrowserRunError";
}

/** A fresh run id that says where it came from: `browser-<UTC stamp>-<random>`. */
export function browserRunId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");
  return `browser-${stamp}-${crypto.randomUUID().slice(0, 6)}`;
}

function choose<T extends { meta: { id: string } }>(
  all: readonly T[],
  ids: string[],
  kind: string,
) {
  if (ids.length === 0) return [...all];
  return ids.map((id) => {
    const found = all.find((p) => p.meta.id === id);
    if (!found) {
      throw new BrowserRunError(
        `No ${kind} '${id}' in the browser build: ${all.map((p) => p.meta.id).join(", ")}`,
      );
    }
    return found;
  });
}

/**
 * The visitor's parameter text as the planner's overrides, each value checked against the spec
 * of every chosen task and method that has the parameter.
 *
 * @throws {BrowserRunError} for a malformed entry, an unknown name or a value that does not fit
 */
export function parseBrowserParams(
  text: string,
  plugins: readonly { meta: { parameters: Record<string, ParamSpec> } }[],
): Record<string, ParamValue[]> {
  const out: Record<string, ParamValue[]> = {};
  for (const entry of text.split(/\s+/).filter((e) => e !== "")) {
    const eq = entry.indexOf("=");
    if (eq <= 0 || eq === entry.length - 1) {
      throw new BrowserRunError(`Parameters are name=value: got '${entry}'`);
    }
    const name = entry.slice(0, eq);
    const specs = plugins.map((p) => p.meta.parameters[name]).filter((s) => s !== undefined);
    if (specs.length === 0) {
      const known = [...new Set(plugins.flatMap((p) => Object.keys(p.meta.parameters)))];
      throw new BrowserRunError(
        `No chosen task or method has a parameter '${name}': ${known.sort().join(", ")}`,
      );
    }
    try {
      out[name] = entry.slice(eq + 1).split(",").map((v) =>
        specs.map((spec) => parseParamValue(name, spec, v))[0]
      );
    } catch (error) {
      throw new BrowserRunError((error as Error).message);
    }
  }
  return out;
}

/**
 * Plans the run the visitor chose, without running it.
 *
 * @throws {BrowserRunError} for an unknown profile, family, task or method
 */
export function planBrowserRun(options: BrowserRunOptions) {
  if (!(BROWSER_PROFILES as readonly string[]).includes(options.profile)) {
    throw new BrowserRunError(`The profile must be smoke or quick: got '${options.profile}'`);
  }
  const families = options.families.length > 0 ? options.families : [...BROWSER_FAMILIES];
  for (const f of families) {
    if (!(BROWSER_FAMILIES as readonly string[]).includes(f)) {
      throw new BrowserRunError(
        `The browser build runs ${BROWSER_FAMILIES.join(", ")}: got '${f}'`,
      );
    }
  }
  const tasks = choose(BROWSER_TASKS, options.tasks ?? [], "task")
    .filter((t) => families.includes(t.meta.family));
  // Methods that fit none of the chosen tasks have nothing to run on: left out, so picking
  // only an MoE task does not trip over the attention methods ticked by default.
  const methods = choose(BROWSER_METHODS, options.methods ?? [], "method")
    .filter((m) => tasks.some((t) => fits(t, m)));
  const overrides = parseBrowserParams(options.params ?? "", [...tasks, ...methods]);
  try {
    return planRun(
      { profile: options.profile as Profile, tasks, methods, overrides },
      BROWSER_METHODS as Method[],
    );
  } catch (error) {
    if (error instanceof PlanError) throw new BrowserRunError(error.message);
    throw error;
  }
}

/**
 * Runs the chosen cells on the browser's adapter and returns the validated run file.
 *
 * @param options profile, families, optional tasks and methods, seed
 * @param build the commit the bundle was built from
 * @param hooks progress callbacks
 * @throws {BrowserRunError} for a bad choice, or when the finished file does not validate
 */
export async function runInBrowser(
  options: BrowserRunOptions,
  build: BuildInfo,
  hooks: BrowserRunHooks = {},
): Promise<RunFile> {
  const groups = planBrowserRun(options);
  const params = parseBrowserParams(options.params ?? "", [...BROWSER_TASKS, ...BROWSER_METHODS]);
  if (groups.length === 0) throw new BrowserRunError("Nothing to run: no task fits the choice.");
  const settings = PROFILE_SETTINGS[options.profile];
  const gpu = new BrowserGpuProvider();
  const context = await gpu.current();
  const client = browserClient(
    navigator,
    (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true,
  );
  const s = settings.sampling;
  const run: RunFile = {
    schemaVersion: SCHEMA_VERSION,
    runId: browserRunId(),
    status: "running",
    startedAt: new Date().toISOString(),
    endedAt: null,
    profile: options.profile,
    seed: options.seed ?? 0,
    verified: false,
    source: "browser",
    browser: client,
    options: {
      families: options.families,
      methods: options.methods ?? [],
      tasks: options.tasks ?? [],
      params,
      warmup: s.warmup,
      runs: s.minRuns,
      maxRuns: s.maxRuns,
      targetRelativeHalfWidth: s.targetRelativeHalfWidth,
      samplingBudgetMs: s.budgetMs,
      minSampleMs: s.minSampleMs,
      timeLimitMs: settings.timeLimitMs,
      shard: null,
    },
    environment: browserEnvironment(client, {
      info: context?.info ?? null,
      unavailableReason: gpu.unavailableReason,
    }, build),
    cells: [],
  };
  hooks.onPlanned?.(groups.flatMap((g) =>
    g.cells.map((c) => ({
      key: c.key,
      task: c.task.meta.id,
      method: c.method.meta.id,
      params: Object.entries(c.params).map(([k, v]) => `${k}=${v}`).join(", "),
    }))
  ));
  const runnerHooks: RunnerHooks = {
    onCellStart: (_i, _n, cell) => hooks.onCellStart?.(cell.key),
    onCellDone: (_i, _n, cell) => hooks.onCellDone?.(cell, run),
  };
  await runCells(run, {
    groups,
    gpu,
    sampling: s,
    timeLimitMs: settings.timeLimitMs,
    dumpDir: null,
    // Nothing to persist between cells: the page holds the run, and a reload starts afresh.
    save: () => Promise.resolve(),
    hooks: runnerHooks,
  });
  run.status = "complete";
  run.endedAt = new Date().toISOString();
  gpu.destroy();
  const checked = RunFile.safeParse(run);
  if (!checked.success) {
    throw new BrowserRunError(
      `The run file does not validate (a bug: please report it):\n${
        z.prettifyError(checked.error)
      }`,
    );
  }
  return checked.data;
}
