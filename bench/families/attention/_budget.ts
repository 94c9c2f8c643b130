// Matched realized budgets: a method's budget knob tuned, on its CPU reference and outside any
// timed region, until the share of visible keys it attends hits a target density, so methods are
// compared at the same realized density instead of at nominal settings that mean different things.
import type { Method, ParamValues } from "../../metadata.ts";
import { type PreparedCase, SkipCase, type Trial } from "../../plugin.ts";
import type { Tuning } from "../../results/schema.ts";
import type { AttentionCalibration } from "./_calibration.ts";
import type { ScoredRow } from "./_gate.ts";
import {
  type AttentionInputs,
  type AttentionMethod,
  type AttentionProblem,
  type AttentionShape,
  queryCount,
  queryOffset,
} from "./_interface.ts";

/** Relative tolerance a tuned density must meet: |achieved / target − 1| ≤ this. */
export const DENSITY_TOLERANCE = 0.1;

/**
 * Query rows per head the tuning evaluates. The estimate is a ratio of sums over evenly spaced
 * rows, as the realized density is over every row; at 32 rows per head of 8 heads the sampled
 * density of the synthetic cases stays within a few percent of the whole input's (the timed run
 * measures the latter, recorded apart as the cell's realized density).
 */
export const TUNING_ROWS_PER_HEAD = 32;

/** Most evaluations of the selection one tuning spends before settling on its nearest value. */
const MAX_EVALUATIONS = 40;

/** What tuning a knob found: the value, the density it gave on the rows evaluated, the cost. */
export interface BudgetTuning extends Tuning {
  /** Whether `achievedDensity` is within `tolerance` of the target (else it is the nearest). */
  reached: boolean;
  /** When not reached: why, in words (the knob's bound, or no value in between). */
  reason?: string;
}

/** Options of {@link tuneBudget}; every field has a default. */
export interface TuneOptions {
  /** Rows to evaluate the selection on (default: {@link tuningRows} of the shape). */
  rows?: ScoredRow[];
  /** Relative tolerance (default {@link DENSITY_TOLERANCE}). */
  tolerance?: number;
}

/** Evenly spaced query rows, first and last included, in every head: what tuning evaluates. */
export function tuningRows(shape: AttentionShape, perHead = TUNING_ROWS_PER_HEAD): ScoredRow[] {
  const queries = queryCount(shape);
  const count = Math.min(perHead, queries);
  const rows: ScoredRow[] = [];
  for (let head = 0; head < shape.heads; head++) {
    let last = -1;
    for (let i = 0; i < count; i++) {
      const row = count === 1 ? queries - 1 : Math.round((i * (queries - 1)) / (count - 1));
      if (row !== last) rows.push({ head, row });
      last = row;
    }
  }
  return rows;
}

/**
 * Keys a method's CPU reference attends over keys visible, summed over `rows`: the realized
 * density (`attended_key_share`) estimated on those rows.
 *
 * @param method the method's implementation
 * @param problem the case's shape, host inputs and the parameter values to evaluate
 * @param rows the rows to sum over
 * @returns attended / visible keys over the rows
 */
export function selectionDensity(
  method: AttentionMethod,
  problem: AttentionProblem<AttentionInputs>,
  rows: readonly ScoredRow[],
): number {
  const { shape } = problem;
  let attended = 0;
  let visible = 0;
  for (const { head, row } of rows) {
    attended += method.selectKeys(problem, head, row).length;
    visible += shape.causal ? queryOffset(shape) + row + 1 : shape.seq;
  }
  return attended / visible;
}

/**
 * Tunes a method's budget knob (`impl.budgetKnob`) by bisection on its CPU reference so that the
 * density of its selection on `rows` is within a relative tolerance of `targetDensity`. Integer
 * knobs are bisected over integers; a knob whose range starts above 0 is bisected geometrically
 * (windows and shares span orders of magnitude). The density is assumed to move one way with
 * the knob; where it does not, bisection still ends on a value, and `reached` says whether that
 * value meets the tolerance. Deterministic: no randomness, the same evaluations every time.
 *
 * @param method the method (its metadata gives the knob's type and range)
 * @param problem the case's shape, host inputs and the method's own parameter values
 * @param targetDensity the realized density wanted, in (0, 1]
 * @param options rows and tolerance
 * @returns the value chosen (or the nearest one, `reached` false, with the reason)
 * @throws {Error} when the method declares no budget knob or its knob is not numeric
 */
export function tuneBudget(
  method: Method<AttentionMethod>,
  problem: AttentionProblem<AttentionInputs>,
  targetDensity: number,
  options: TuneOptions = {},
): BudgetTuning {
  const knob = method.impl.budgetKnob;
  const id = method.meta.id;
  if (!knob) throw new Error(`Cannot tune '${id}': it declares no budget knob`);
  const spec = method.meta.parameters[knob.param];
  if (!spec || (spec.type !== "int" && spec.type !== "number")) {
    throw new Error(
      `Cannot tune '${id}': its budget knob '${knob.param}' is not a numeric parameter`,
    );
  }
  if (!(targetDensity > 0 && targetDensity <= 1)) {
    throw new Error(
      `Cannot tune '${id}' as the target density must be in (0, 1]: got ${targetDensity}`,
    );
  }
  const tolerance = options.tolerance ?? DENSITY_TOLERANCE;
  const rows = options.rows ?? tuningRows(problem.shape);
  const isInt = spec.type === "int";
  const start = performance.now();
  let evaluations = 0;
  const densityAt = (value: number) => {
    evaluations++;
    const params: ParamValues = { ...problem.params, [knob.param]: value };
    return selectionDensity(method.impl, { ...problem, params }, rows);
  };
  const error = (density: number) => Math.abs(density / targetDensity - 1);
  // `low` is the knob's end that attends fewest keys, `high` the end that attends most.
  let low = knob.direction === "increasing" ? spec.min : spec.max;
  let high = knob.direction === "increasing" ? spec.max : spec.min;
  let lowDensity = densityAt(low);
  let highDensity = densityAt(high);
  let best = error(lowDensity) <= error(highDensity)
    ? { value: low, density: lowDensity }
    : { value: high, density: highDensity };
  const done = (reason?: string): BudgetTuning => ({
    param: knob.param,
    value: best.value,
    targetDensity,
    tolerance,
    achievedDensity: best.density,
    rows: rows.length,
    evaluations,
    ms: performance.now() - start,
    reached: error(best.density) <= tolerance,
    ...(error(best.density) <= tolerance ? {} : { reason }),
  });
  const at = (value: number) => `${knob.param} = ${value}`;
  const above = (density: number) => density > targetDensity;
  // Both ends on one side: a knob that moves density one way cannot reach the target.
  if (above(lowDensity) && above(highDensity) && error(best.density) > tolerance) {
    return done(
      `its least budget (${at(low)}) already attends ${lowDensity.toFixed(4)} of visible keys${
        highDensity < lowDensity ? ` (its largest, ${highDensity.toFixed(4)})` : ""
      }`,
    );
  }
  if (!above(lowDensity) && !above(highDensity) && error(best.density) > tolerance) {
    return done(`its largest budget (${at(high)}) attends only ${highDensity.toFixed(4)}`);
  }
  // The ends bracket the target: keep the half whose ends still do, whichever way the knob
  // moves density here (Sparse-vDiT's falls back to dense at small budgets).
  const geometric = Math.min(low, high) > 0;
  while (error(best.density) > tolerance && evaluations < MAX_EVALUATIONS) {
    let mid = geometric ? Math.sqrt(low * high) : (low + high) / 2;
    if (isInt) {
      mid = Math.round(mid);
      if (mid === low || mid === high) break;
    } else if (Math.abs(high - low) <= 1e-9 * Math.max(1, Math.abs(high))) break;
    const density = densityAt(mid);
    if (error(density) < error(best.density)) best = { value: mid, density };
    if (above(density) === above(lowDensity)) {
      low = mid;
      lowDensity = density;
    } else {
      high = mid;
      highDensity = density;
    }
  }
  return done(
    `no value of ${knob.param} gives it: ${at(low)} attends ${lowDensity.toFixed(4)}, ${
      at(high)
    } attends ${highDensity.toFixed(4)}`,
  );
}

/** A tuning that missed its target, in words, for a skipped cell. */
export function describeUnreachable(method: Method, t: BudgetTuning): string {
  return `${method.meta.id} cannot reach realized density ${t.targetDensity} (±${
    Math.round(t.tolerance * 100)
  }%): ${t.reason}; nearest: ${t.param} = ${t.value} at ${
    t.achievedDensity.toFixed(4)
  } on ${t.rows} rows (${t.evaluations} evaluations, ${Math.round(t.ms)} ms)`;
}

/** The record a cell keeps of a reached tuning. */
function tuningRecord(t: BudgetTuning): Tuning {
  const { reached: _reached, reason: _reason, ...record } = t;
  return record;
}

/**
 * A prepared attention case whose methods all run at one realized density: each method with a
 * budget knob is tuned to `targetDensity` on the case's host inputs before it is bound (outside
 * timing), then bound at the tuned value, and its trial carries the tuning for the cell; a method
 * that cannot reach it is skipped with the reason and its nearest density (SkipCase), not run at
 * another density. Methods without a knob (dense attention, dense peers) run as they are: they
 * are the dense references speed-ups are measured against.
 *
 * @param prepared the case as `prepareAttentionCase` made it
 * @param spec the case's shape and host inputs, and the target density
 * @returns the same case, tuning each method it binds
 */
export function matchDensity(
  prepared: PreparedCase,
  spec: {
    shape: AttentionShape;
    inputs: AttentionInputs;
    targetDensity: number;
    /** The case's held-out calibration inputs, as `prepareAttentionCase` was given them. */
    calibration?: AttentionCalibration;
  },
): PreparedCase {
  const rows = tuningRows(spec.shape);
  const tuned = (method: Method, params: ParamValues) => {
    const m = method as Method<AttentionMethod>;
    if (!m.impl.budgetKnob) return { params, tuning: undefined };
    const problem = {
      shape: spec.shape,
      inputs: spec.inputs,
      params,
      calibration: spec.calibration,
    };
    const t = tuneBudget(m, problem, spec.targetDensity, { rows });
    if (!t.reached) throw new SkipCase(describeUnreachable(method, t));
    return { params: { ...params, [t.param]: t.value }, tuning: tuningRecord(t) };
  };
  return {
    ...prepared,
    referenceMetrics(method, params) {
      return prepared.referenceMetrics(method, tuned(method, params).params);
    },
    async bind(method, params): Promise<Trial> {
      const { params: run, tuning } = tuned(method, params);
      const trial = await prepared.bind(method, run);
      // Getters keep the inner trial's own fields (`setup` is read after binding).
      return {
        get setup() {
          return trial.setup;
        },
        tuning,
        sample: (info) => trial.sample(info),
        finish: () => trial.finish(),
        dispose: () => trial.dispose(),
      };
    },
    dispose: () => prepared.dispose(),
  };
}
