// The strict zod schemas every method and task is declared with, and their define* helpers.
import { z } from "zod";
import type { TaskImpl } from "./plugin.ts";

export const FAMILIES = ["attention", "pruning", "moe", "retrieval"] as const;
export const Family = z.enum(FAMILIES);
export type Family = z.infer<typeof Family>;

export const PROFILES = ["smoke", "quick", "full"] as const;
export const Profile = z.enum(PROFILES);
export type Profile = z.infer<typeof Profile>;

/** Ids are lower-case words joined by hyphens: safe in file names and URLs. */
export const Id = z.string().regex(
  /^[a-z0-9]+(-[a-z0-9]+)*$/,
  "ids are lower-case words joined by '-'",
);
const Version = z.string().regex(/^\d+\.\d+\.\d+$/, "versions are MAJOR.MINOR.PATCH");
const Sha256 = z.string().regex(/^[0-9a-f]{64}$/, "a sha256 is 64 lower-case hex digits");

const NumberParam = z.object({
  type: z.enum(["int", "number"]),
  description: z.string().min(1),
  default: z.number(),
  min: z.number(),
  max: z.number(),
  sweep: z.array(z.number()).min(1),
  /** Words for special values in case labels, e.g. `{ "0": "all" }` where 0 means no limit. */
  valueLabels: z.record(z.string(), z.string().min(1)).optional(),
}).strict().superRefine((p, ctx) => {
  for (const v of [p.default, ...p.sweep]) {
    if (v < p.min || v > p.max) {
      ctx.addIssue({ code: "custom", message: `value ${v} is outside [${p.min}, ${p.max}]` });
    }
    if (p.type === "int" && !Number.isInteger(v)) {
      ctx.addIssue({ code: "custom", message: `value ${v} is not an integer` });
    }
  }
});
const BooleanParam = z.object({
  type: z.literal("boolean"),
  description: z.string().min(1),
  default: z.boolean(),
  sweep: z.array(z.boolean()).min(1),
}).strict();
const EnumParam = z.object({
  type: z.literal("enum"),
  description: z.string().min(1),
  values: z.array(z.string()).min(1),
  default: z.string(),
  sweep: z.array(z.string()).min(1),
}).strict().superRefine((p, ctx) => {
  for (const v of [p.default, ...p.sweep]) {
    if (!p.values.includes(v)) {
      ctx.addIssue({ code: "custom", message: `value '${v}' is not one of ${p.values}` });
    }
  }
});

export const ParamSpec = z.union([NumberParam, BooleanParam, EnumParam]);
export type ParamSpec = z.infer<typeof ParamSpec>;
export const ParamSpecs = z.record(z.string().regex(/^[a-zA-Z][a-zA-Z0-9_]*$/), ParamSpec);
export type ParamSpecs = z.infer<typeof ParamSpecs>;

/** Concrete parameter values of one cell. */
export type ParamValue = number | boolean | string;
export type ParamValues = Record<string, ParamValue>;

/** The value a parameter spec declares: a number for `int`/`number`, else a boolean or a string. */
export type ParamValueOf<S> = S extends { type: "boolean" } ? boolean
  : S extends { type: "enum" } ? string
  : number;

/**
 * The typed parameter values of a spec record: what `setup`, `selectKeys`, `prepare` and the
 * other hooks of a plugin receive, so no plugin casts `params.x as number`. The runner only ever
 * passes every declared parameter, each validated against its spec (defaults, the sweep, or a
 * `--param` value parsed by {@link parseParamValue}).
 *
 * @example
 * ```ts
 * import type { ParamValuesOf } from "./metadata.ts";
 * type Window = ParamValuesOf<{
 *   window: { type: "int"; description: "keys"; default: 8; min: 1; max: 9; sweep: [8] };
 *   causal: { type: "boolean"; description: "mask"; default: true; sweep: [true] };
 * }>;
 * const values: Window = { window: 8, causal: true };
 * ```
 */
export type ParamValuesOf<P> = { readonly [K in keyof P]: ParamValueOf<P[K]> };

const Paper = z.object({
  title: z.string().min(1),
  year: z.number().int().min(1950).max(2100),
  link: z.url(),
}).strict();

/** What a method needs from the machine: the runner skips it, with the reason, when absent. */
export const Requirement = z.enum(["webgpu"]);
export type Requirement = z.infer<typeof Requirement>;

/**
 * How close a method's implementation is to what its title and paper name, so a reader knows what a
 * row's figures speak for. Levels:
 * - `faithful`: the paper's mechanism as published; departures are bookkeeping (layer order, scope,
 *   precision, tie-breaking) that the notes list and that should not change the figures much.
 * - `simplified`: the paper's mechanism is there, with a stated departure (a smaller search, a fixed
 *   ratio, a part left out) that can change its figures.
 * - `stand-in`: a learned or essential part of the paper's method is replaced by a heuristic, so the
 *   figures are the heuristic's, not the paper's; the title says so.
 * - `oracle`: uses what no deployable method has (the exact attention scores): an upper bound on
 *   quality at its budget, not a contender.
 * - `peer`: another library's implementation, run as a plain user would run it.
 * - `baseline`: the reference or a control every other method is compared with (dense computation,
 *   exhaustive scoring, a random mask).
 */
export const FIDELITY_LEVELS = [
  "faithful",
  "simplified",
  "stand-in",
  "oracle",
  "peer",
  "baseline",
] as const;
export const FidelityLevel = z.enum(FIDELITY_LEVELS);
export type FidelityLevel = z.infer<typeof FidelityLevel>;

/** A method's fidelity level with the one-line reason read from its code and notes. */
export const Fidelity = z.object({
  level: FidelityLevel,
  /** One line: what is kept, or what replaces the paper's part. */
  reason: z.string().min(1).max(200).refine((r) => !r.includes("\n"), "one line, no line breaks"),
}).strict();
export type Fidelity = z.infer<typeof Fidelity>;

/**
 * Levels whose figures do not speak for a deployable method of the paper: "best" tables leave them
 * out unless asked to include them.
 */
export const NOT_BEST_LEVELS: readonly FidelityLevel[] = ["stand-in", "oracle"];

/** The fields of a method's metadata, without its cross-field rules (for `.pick`). */
export const MethodMetaFields = z.object({
  id: Id,
  family: Family,
  title: z.string().min(1),
  /** Required: every method says how faithful it is (see {@link Fidelity}). */
  fidelity: Fidelity,
  description: z.string().min(1),
  paper: Paper,
  version: Version,
  parameters: ParamSpecs,
  capabilities: z.object({
    requires: z.array(Requirement),
    /** Family-specific features a task may ask for, e.g. "causal" or "non-causal" attention. */
    features: z.array(z.string().min(1)),
  }).strict(),
  /** Where a paper's claim did not reproduce, or the implementation departs from it. */
  notes: z.string().optional(),
}).strict();

export const MethodMeta = MethodMetaFields.superRefine((m, ctx) => {
  // A stand-in's or an oracle's figures must not pass for the paper's method under its name alone.
  for (const level of ["stand-in", "oracle"] as const) {
    if (m.fidelity.level === level && !m.title.toLowerCase().includes(level)) {
      ctx.addIssue({
        code: "custom",
        path: ["title"],
        message: `a method labelled ${level} says so in its title: got '${m.title}'`,
      });
    }
  }
});
export type MethodMeta = z.infer<typeof MethodMeta>;

export const MetricSpec = z.object({
  name: z.string().regex(/^[a-z][a-z0-9_]*$/),
  description: z.string().min(1),
  higherIsBetter: z.boolean(),
  unit: z.string().optional(),
}).strict();
export type MetricSpec = z.infer<typeof MetricSpec>;

export const TaskMeta = z.object({
  id: Id,
  family: Family,
  title: z.string().min(1),
  description: z.string().min(1),
  version: Version,
  mainMetric: z.string(),
  metrics: z.array(MetricSpec).min(1),
  /** The dense baseline every method of this task is timed against in the same run. */
  referenceMethod: Id,
  dataset: z.object({
    id: Id,
    version: Version,
    source: z.string().min(1),
    license: z.string().min(1),
    /** sha256 of the canonical bytes: a file's contents, or a generator's output for its pinned sample. */
    sha256: Sha256,
  }).strict(),
  /** Task parameters (shapes, modes) and the values each profile runs. */
  parameters: ParamSpecs,
  profiles: z.object({
    smoke: z.record(z.string(), z.array(z.union([z.number(), z.boolean(), z.string()])).min(1)),
    quick: z.record(z.string(), z.array(z.union([z.number(), z.boolean(), z.string()])).min(1)),
    full: z.record(z.string(), z.array(z.union([z.number(), z.boolean(), z.string()])).min(1)),
  }).strict(),
  /** Features a method must declare to run on this task (see MethodMeta.capabilities.features). */
  requiresFeatures: z.array(z.string()),
  /**
   * Whether `quick` sweeps methods' parameters on this task's first case (absent: yes). A task
   * whose family is swept on another task may run defaults only, to keep the default suite short.
   */
  quickSweep: z.boolean().optional(),
  /**
   * Values a profile runs for method parameters named here (`name`, or `methodId.name` for one
   * method), where a method's spec allows them (otherwise it keeps its own): in `smoke` instead
   * of the defaults, in `quick` instead of the sweep on the first case (later cases keep the
   * defaults). `full` always runs every method's own sweep. For tasks whose full sweep is too
   * long for the default suite, or a method too slow at its defaults for smoke. `every`: values
   * the task's own model fixes (e.g. the capacity its checkpoint was trained with), run in every
   * profile and case, matched-budget cases included; a profile's own entry for the same name wins.
   */
  methodValues: z.object({
    every: z.record(z.string(), z.array(z.union([z.number(), z.boolean(), z.string()])).min(1))
      .optional(),
    smoke: z.record(z.string(), z.array(z.union([z.number(), z.boolean(), z.string()])).min(1))
      .optional(),
    quick: z.record(z.string(), z.array(z.union([z.number(), z.boolean(), z.string()])).min(1))
      .optional(),
  }).strict().optional(),
  /**
   * A case parameter that asks every method for one budget (e.g. an attention task's
   * `targetDensity`), which the task meets by tuning each method's budget knob: in a case where
   * it is not `own`, the plan runs each method once at its defaults (the task overrides the knob)
   * instead of its sweep. `cases` are case grids a profile runs beside its own (parameters they do
   * not name take their defaults), e.g. the target densities at one large shape.
   */
  matchedBudget: z.object({
    param: z.string(),
    own: z.union([z.number(), z.boolean(), z.string()]),
    cases: z.object({
      smoke: z.record(z.string(), z.array(z.union([z.number(), z.boolean(), z.string()])).min(1))
        .optional(),
      quick: z.record(z.string(), z.array(z.union([z.number(), z.boolean(), z.string()])).min(1))
        .optional(),
      full: z.record(z.string(), z.array(z.union([z.number(), z.boolean(), z.string()])).min(1))
        .optional(),
    }).strict().optional(),
  }).strict().optional(),
}).strict().superRefine((t, ctx) => {
  const budget = t.matchedBudget;
  for (
    const name of budget
      ? [budget.param, ...PROFILES.flatMap((p) => Object.keys(budget.cases?.[p] ?? {}))]
      : []
  ) {
    if (!(name in t.parameters)) {
      ctx.addIssue({
        code: "custom",
        message: `matchedBudget names unknown parameter '${name}'`,
      });
    }
  }
  if (!t.metrics.some((m) => m.name === t.mainMetric)) {
    ctx.addIssue({
      code: "custom",
      message: `mainMetric '${t.mainMetric}' is not among the declared metrics`,
    });
  }
  for (const profile of PROFILES) {
    for (const name of Object.keys(t.profiles[profile])) {
      if (!(name in t.parameters)) {
        ctx.addIssue({
          code: "custom",
          message: `profile '${profile}' sets unknown parameter '${name}'`,
        });
      }
    }
  }
});
export type TaskMeta = z.infer<typeof TaskMeta>;

/** Thrown when a plugin's metadata does not satisfy its schema. */
export class MetadataError extends Error {
  override name = "MetadataError";
}

function parseOrThrow<T>(schema: z.ZodType<T>, input: unknown, what: string): T {
  const result = schema.safeParse(input);
  if (!result.success) {
    const id = (input as { id?: unknown })?.id;
    throw new MetadataError(`Invalid ${what} '${String(id)}':\n${z.prettifyError(result.error)}`);
  }
  return result.data;
}

/** A registered method: validated metadata plus its family's implementation. */
export interface Method<Impl = unknown> {
  readonly meta: MethodMeta;
  readonly impl: Impl;
}

/**
 * A method's declaration: its metadata, with the parameter specs kept as written so the
 * implementation's hooks can be typed by them (see {@link ParamValuesOf}), and the family's
 * implementation.
 */
export type MethodDefinition<P extends ParamSpecs, Impl> = Omit<MethodMeta, "parameters"> & {
  parameters: P;
  impl: Impl;
};

/**
 * Declares a method. The metadata is validated at once, so a bad plugin fails on import. Families
 * wrap it (e.g. `defineAttentionMethod`) so that `impl` is checked against the family's interface
 * with parameter values typed by `parameters`.
 *
 * @param definition metadata and implementation
 * @returns the frozen method
 * @throws {MetadataError} when the metadata does not satisfy {@link MethodMeta}
 * @example
 * ```ts
 * import { defineMethod } from "./metadata.ts";
 * import { assertEquals, assertThrows } from "../tests/assert.ts";
 * const echo = defineMethod({
 *   id: "echo",
 *   family: "attention",
 *   title: "Echo",
 *   description: "returns its input",
 *   fidelity: { level: "faithful", reason: "returns its input, as it says" },
 *   paper: { title: "None", year: 2024, link: "https://example.org" },
 *   version: "1.0.0",
 *   parameters: {},
 *   capabilities: { requires: [], features: [] },
 *   impl: { echo: (x: number) => x },
 * });
 * assertEquals(echo.impl.echo(3), 3);
 * // Metadata is validated on declaration: a bad id fails at import time.
 * assertThrows(() => defineMethod({ ...echo.meta, id: "Not An Id", impl: {} }), Error, "id");
 * ```
 */
export function defineMethod<P extends ParamSpecs, Impl>(
  definition: MethodDefinition<P, Impl>,
): Method<Impl> {
  const { impl, ...rest } = definition;
  return Object.freeze({ meta: Object.freeze(parseOrThrow(MethodMeta, rest, "method")), impl });
}

/** A registered task: validated metadata plus the code that prepares and scores its cases. */
export interface Task<Impl = unknown> {
  readonly meta: TaskMeta;
  readonly impl: Impl;
}

/** A task's declaration: metadata with its case parameters kept as written, and its code. */
export type TaskDefinition<P extends ParamSpecs> = Omit<TaskMeta, "parameters"> & {
  parameters: P;
  impl: TaskImpl<ParamValuesOf<P>>;
};

/**
 * Declares a task: `impl.prepare` receives its case parameters typed by `parameters`.
 *
 * @param definition metadata and implementation
 * @returns the frozen task
 * @throws {MetadataError} when the metadata does not satisfy {@link TaskMeta}
 */
export function defineTask<P extends ParamSpecs>(definition: TaskDefinition<P>): Task<TaskImpl> {
  const { impl, ...rest } = definition;
  return Object.freeze({ meta: Object.freeze(parseOrThrow(TaskMeta, rest, "task")), impl });
}

/**
 * A short human label of parameter values, e.g. `seq=2048,causal=true` or `docs=all,batch=50`
 * (a number spec's `valueLabels` name its special values).
 *
 * @example
 * ```ts
 * import { paramsLabel } from "./metadata.ts";
 * import { assertEquals } from "../tests/assert.ts";
 * const label = paramsLabel({ docs: 0, batch: 50 }, {
 *   docs: { type: "int", description: "documents, 0 = all", default: 0, min: 0, max: 9,
 *     sweep: [0], valueLabels: { "0": "all" } },
 * });
 * assertEquals(label, "docs=all,batch=50");
 * ```
 */
export function paramsLabel(values: Readonly<ParamValues>, specs: ParamSpecs = {}): string {
  return Object.entries(values).map(([name, value]) => {
    const spec = specs[name];
    const word = spec && spec.type !== "boolean" && spec.type !== "enum"
      ? spec.valueLabels?.[String(value)]
      : undefined;
    return `${name}=${word ?? value}`;
  }).join(",");
}

/** The default of every parameter. */
export function defaultParams(specs: ParamSpecs): ParamValues {
  return Object.fromEntries(Object.entries(specs).map(([k, s]) => [k, s.default]));
}

/**
 * Parses a parameter value given as text (from the CLI) against its spec.
 *
 * @throws {RangeError} with what was expected when the text does not fit
 */
export function parseParamValue(name: string, spec: ParamSpec, text: string): ParamValue {
  if (spec.type === "boolean") {
    if (text === "true" || text === "false") return text === "true";
    throw new RangeError(`Parameter '${name}' must be true or false: got '${text}'`);
  }
  if (spec.type === "enum") {
    if (spec.values.includes(text)) return text;
    throw new RangeError(
      `Parameter '${name}' must be one of ${spec.values.join(", ")}: got '${text}'`,
    );
  }
  const value = Number(text);
  if (
    text.trim() === "" || !Number.isFinite(value) ||
    (spec.type === "int" && !Number.isInteger(value))
  ) {
    throw new RangeError(
      `Parameter '${name}' must be ${
        spec.type === "int" ? "an integer" : "a number"
      }: got '${text}'`,
    );
  }
  if (value < spec.min || value > spec.max) {
    throw new RangeError(
      `Parameter '${name}' must be between ${spec.min} and ${spec.max}: got ${value}`,
    );
  }
  return value;
}
