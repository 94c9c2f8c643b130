// Parses `deno task bench` arguments into options, or a UsageError with a message people can act on.
import { parseArgs } from "node:util";
import { FAMILIES, type Profile, PROFILES } from "../metadata.ts";
import { unknownNameMessage } from "../suggest.ts";
import { DEFAULT_PROFILE, PROFILE_SETTINGS } from "../profiles.ts";
import { RunId } from "../results/schema.ts";
import { parseShard, type ShardSpec } from "../shard.ts";

/** Bad command-line input: printed without a stack trace, exit code 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

export interface BenchArgs {
  families: string[];
  methods: string[];
  tasks: string[];
  profile: Profile;
  /** Raw `name=v1,v2` values by name; checked against parameter specs once the plan is known. */
  params: Record<string, string[]>;
  seed: number;
  outDir: string;
  resume: string | null;
  list: boolean;
  json: boolean;
  help: boolean;
  dumpDir: string | null;
  /** From --time-limit; null means the profile's own limit. */
  timeLimitMs: number | null;
  /** From --shard i/n: run only this part of the plan. */
  shard: ShardSpec | null;
}

export const USAGE = `Usage: deno task bench [options]

Runs sparse methods against their tasks on this machine's WebGPU adapter and writes one
JSON file per run to results/runs/<run-id>.json.

Options:
  --family F          only tasks and methods of family F (${FAMILIES.join(", ")}); repeatable
  --method ID         only this method (the task's dense baseline always runs too); repeatable
  --task ID           only this task; repeatable
  --profile P         ${PROFILES.join(" | ")} (default ${DEFAULT_PROFILE})
  --param k=v[,v]     set a method or task parameter to these values, e.g. --param window=64,256
                      or --param seq=4096; prefix a method or task id to set it for that one
                      only, e.g. --param sliding-window-attention.window=410; repeatable
  --seed N            seed of the generated inputs (default 0)
  --out DIR           where run files go (default results/runs)
  --resume RUN        finish run RUN: run only the cells its file does not hold yet
  --time-limit S      seconds any one step of a cell may take before it is a timeout (default ${
  PROFILE_SETTINGS.smoke.timeLimitMs / 1000
} s, ${PROFILE_SETTINGS.full.timeLimitMs / 1000} s on full)
  --shard I/N         run only part I of N of the planned cases (whole cases, balanced by the
                      cost earlier runs in --out recorded); merge the parts with deno task merge
  --dump DIR          write each cell's check input and outputs as raw float32 files + manifest.json
  --list              list registered methods and tasks instead of running
  --json              machine-readable output (with --list: {methods, tasks}; else the run file)
  --help              this text
`;

function splitList(values: string[] | undefined): string[] {
  return (values ?? []).flatMap((v) => v.split(",")).map((v) => v.trim()).filter(Boolean);
}

function integer(name: string, text: string | undefined, fallback: number, min: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!/^-?\d+(\.\d+)?$/.test(text.trim()) || !Number.isFinite(value) || value < min) {
    throw new UsageError(`--${name} must be a number of at least ${min}: got '${text}'`);
  }
  return value;
}

function shardArg(text: string | undefined): ShardSpec | null {
  if (text === undefined) return null;
  try {
    return parseShard(text);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/**
 * Parses the bench command line.
 *
 * @throws {UsageError} for unknown options, missing values and malformed ones
 */
export function parseBenchArgs(argv: string[]): BenchArgs {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        family: { type: "string", multiple: true },
        method: { type: "string", multiple: true },
        task: { type: "string", multiple: true },
        profile: { type: "string" },
        param: { type: "string", multiple: true },
        seed: { type: "string" },
        out: { type: "string" },
        resume: { type: "string" },
        "time-limit": { type: "string" },
        dump: { type: "string" },
        shard: { type: "string" },
        list: { type: "boolean" },
        json: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message.replace(/\. To specify.*$/s, "."));
  }
  const v = parsed.values;
  const families = splitList(v.family);
  for (const f of families) {
    if (!(FAMILIES as readonly string[]).includes(f)) {
      throw new UsageError(unknownNameMessage("family", f, FAMILIES));
    }
  }
  const profile = v.profile ?? DEFAULT_PROFILE;
  if (!(PROFILES as readonly string[]).includes(profile)) {
    throw new UsageError(unknownNameMessage("profile", profile, PROFILES));
  }
  const params: Record<string, string[]> = {};
  for (const item of v.param ?? []) {
    // An optional "id." prefix scopes the value to one method or task.
    const match = /^((?:[a-z0-9]+(?:-[a-z0-9]+)*\.)?[A-Za-z][A-Za-z0-9_]*)=(.+)$/.exec(item);
    if (!match) {
      throw new UsageError(`--param must look like [id.]name=value[,value]: got '${item}'`);
    }
    params[match[1]] = match[2].split(",").map((s) => s.trim());
  }
  if (v.resume !== undefined && !RunId.safeParse(v.resume).success) {
    throw new UsageError(
      `--resume needs a run id (letters, digits, '.', '_', '-'): got '${v.resume}'`,
    );
  }
  return {
    families,
    methods: splitList(v.method),
    tasks: splitList(v.task),
    profile: profile as Profile,
    params,
    seed: Math.trunc(integer("seed", v.seed, 0, 0)),
    outDir: v.out ?? "results/runs",
    resume: v.resume ?? null,
    list: v.list ?? false,
    json: v.json ?? false,
    help: v.help ?? false,
    dumpDir: v.dump ?? null,
    timeLimitMs: v["time-limit"] === undefined
      ? null
      : integer("time-limit", v["time-limit"], 0, 0.001) * 1000,
    shard: shardArg(v.shard),
  };
}
