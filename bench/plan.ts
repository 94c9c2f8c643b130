// Pairs tasks with the methods of the family each accepts and expands parameters into cells.
// It never asks which family it is planning: a method fits a task when the families are equal
// and the method declares every feature the task requires.
import {
  type Method,
  type ParamSpec,
  type ParamValue,
  type ParamValues,
  parseParamValue,
  type Profile,
  type Task,
} from "./metadata.ts";
import type { TaskImpl } from "./plugin.ts";
import { PROFILE_SETTINGS } from "./profiles.ts";

/** One cell to run: a method with fixed parameters on one case of a task. */
export interface PlannedCell {
  key: string;
  task: Task<TaskImpl>;
  caseParams: ParamValues;
  method: Method;
  params: ParamValues;
  isReference: boolean;
}

/** All cells of one task case: they share prepared inputs and are timed interleaved. */
export interface CaseGroup {
  task: Task<TaskImpl>;
  caseParams: ParamValues;
  caseKey: string;
  cells: PlannedCell[];
}

export interface PlanOptions {
  profile: Profile;
  tasks: readonly Task<TaskImpl>[];
  methods: readonly Method[];
  /** Values given on the command line, by parameter name; they replace the profile's. */
  overrides: Readonly<Record<string, readonly ParamValue[]>>;
}

/** Thrown when the selection cannot be planned (e.g. a method fits no selected task). */
export class PlanError extends Error {
  override name = "PlanError";
}

/** `a=1,b=true`, keys sorted: stable across runs, so `--resume` can match cells. */
export function paramsKey(params: ParamValues): string {
  return Object.keys(params).sort().map((k) => `${k}=${params[k]}`).join(",");
}

/** Every combination of the given value lists, keys in the order given. */
export function cartesian(lists: Readonly<Record<string, readonly ParamValue[]>>): ParamValues[] {
  let combos: ParamValues[] = [{}];
  for (const [name, values] of Object.entries(lists)) {
    combos = combos.flatMap((c) => values.map((v) => ({ ...c, [name]: v })));
  }
  return combos;
}

/** Whether a profile sweeps methods' parameters on the task's case with this index. */
export function sweepsCase(profile: Profile, task: Task, caseIndex: number): boolean {
  const params = PROFILE_SETTINGS[profile].params;
  if (params === "sweep") return true;
  return params === "sweep-first-case" && caseIndex === 0 && task.meta.quickSweep !== false;
}

function methodValueLists(
  method: Method,
  sweep: boolean,
  overrides: PlanOptions["overrides"],
  profileValues: Readonly<Record<string, readonly ParamValue[]>> | undefined,
) {
  const lists: Record<string, readonly ParamValue[]> = {};
  const id = method.meta.id;
  for (const [name, spec] of Object.entries(method.meta.parameters)) {
    const chosen = profileValues &&
      allowedValues(name, spec, profileValues[`${id}.${name}`] ?? profileValues[name]);
    lists[name] = overrides[`${id}.${name}`] ?? overrides[name] ?? chosen ??
      (sweep ? spec.sweep : [spec.default]);
  }
  return lists;
}

/** The values of `candidates` that `spec` allows, or undefined when none (or none given). */
function allowedValues(
  name: string,
  spec: ParamSpec,
  candidates: readonly ParamValue[] | undefined,
): readonly ParamValue[] | undefined {
  const allowed = (candidates ?? []).filter((v) => {
    try {
      return parseParamValue(name, spec, String(v)) === v;
    } catch {
      return false;
    }
  });
  return allowed.length > 0 ? allowed : undefined;
}

/** Whether `method` runs on `task`: the same family, and every feature the task requires. */
export function fits(task: Task<TaskImpl>, method: Method): boolean {
  return task.meta.family === method.meta.family &&
    task.meta.requiresFeatures.every((f) => method.meta.capabilities.features.includes(f));
}

/**
 * Plans a run: for each task, each case of its profile, each fitting method and parameter set.
 * The task's reference method is always included (with its defaults) so speed-ups have a baseline.
 *
 * @param allMethods the whole registry, from which missing reference methods are taken
 * @throws {PlanError} when a selected method fits none of the selected tasks
 */
export function planRun(options: PlanOptions, allMethods: readonly Method[]): CaseGroup[] {
  const groups: CaseGroup[] = [];
  for (const method of options.methods) {
    if (!options.tasks.some((t) => fits(t, method))) {
      throw new PlanError(
        `Method '${method.meta.id}' (${method.meta.family}) fits none of the selected tasks: ${
          options.tasks.map((t) => t.meta.id).join(", ") || "none"
        }`,
      );
    }
  }
  for (const task of options.tasks) {
    const selected = options.methods.filter((m) => fits(task, m));
    if (selected.length === 0) continue;
    const reference = allMethods.find((m) => m.meta.id === task.meta.referenceMethod);
    if (!reference) {
      throw new PlanError(
        `Task '${task.meta.id}' names reference method '${task.meta.referenceMethod}', which is not registered`,
      );
    }
    const caseLists: Record<string, readonly ParamValue[]> = {};
    for (const [name, spec] of Object.entries(task.meta.parameters)) {
      caseLists[name] = options.overrides[`${task.meta.id}.${name}`] ?? options.overrides[name] ??
        task.meta.profiles[options.profile][name] ??
        [spec.default];
    }
    const cases = cartesian(caseLists);
    const budget = task.meta.matchedBudget;
    const extra = budget?.cases?.[options.profile];
    // Cases chosen with --param replace the profile's, its matched-budget grid included.
    const chosen = Object.keys(task.meta.parameters).some((name) =>
      options.overrides[`${task.meta.id}.${name}`] ?? options.overrides[name]
    );
    if (extra && !chosen) {
      // The profile's matched-budget grid, beside its own; a case already planned is not repeated.
      const lists: Record<string, readonly ParamValue[]> = {};
      for (const [name, spec] of Object.entries(task.meta.parameters)) {
        lists[name] = extra[name] ?? [spec.default];
      }
      const planned = new Set(cases.map(paramsKey));
      cases.push(...cartesian(lists).filter((c) => !planned.has(paramsKey(c))));
    }
    for (const [caseIndex, caseParams] of cases.entries()) {
      const caseKey = paramsKey(caseParams);
      const cells: PlannedCell[] = [];
      const seen = new Set<string>();
      const add = (method: Method, params: ParamValues, isReference: boolean) => {
        const key = `${task.meta.id}|${caseKey}|${method.meta.id}|${paramsKey(params)}`;
        if (seen.has(key)) return;
        seen.add(key);
        cells.push({ key, task, caseParams, method, params, isReference });
      };
      const referenceDefaults = Object.fromEntries(
        Object.entries(reference.meta.parameters).map(([k, s]) => [k, s.default]),
      );
      add(reference, referenceDefaults, true);
      // A matched-budget case runs each method once: the task tunes its budget knob.
      const matched = budget !== undefined && caseParams[budget.param] !== budget.own;
      const sweep = !matched && sweepsCase(options.profile, task, caseIndex);
      // The task's values for smoke (its defaults) and quick (its first case's sweep), over the
      // ones its model fixes in every profile and case.
      const ownProfile = !matched &&
          (options.profile === "smoke" || (options.profile === "quick" && sweep))
        ? task.meta.methodValues?.[options.profile]
        : undefined;
      const every = task.meta.methodValues?.every;
      const profileValues = every || ownProfile ? { ...every, ...ownProfile } : undefined;
      for (const method of selected) {
        for (
          const params of cartesian(
            methodValueLists(method, sweep, options.overrides, profileValues),
          )
        ) {
          add(
            method,
            params,
            method === reference && paramsKey(params) === paramsKey(referenceDefaults),
          );
        }
      }
      groups.push({ task, caseParams, caseKey, cells });
    }
  }
  return groups;
}
