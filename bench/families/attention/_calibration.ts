// Held-out calibration inputs: what a task hands a method that calibrates, trains or searches
// offline (SeerAttention's gate, Sparse-vDiT's pattern search), so that it never learns from the
// input it is scored on. The task makes the inputs (other prompts to the same model); a method
// only sees them through this interface, so it still imports no dataset.
import type { MetricSpec } from "../../metadata.ts";
import type { AttentionInputs, AttentionProblem, AttentionShape } from "./_interface.ts";
import { randomInputs } from "./_test_inputs.ts";

/**
 * Held-out inputs to the same model as the evaluated one (for synthetic heads: the same model
 * seed, other input seeds), each of the evaluated input's shape, never the evaluated input.
 */
export interface AttentionCalibration {
  /** Names this set (task, model, shape, inputs): methods cache what they learn from it by it. */
  key: string;
  /** One name per held-out input (e.g. "input seed 123"), in the order `input` gives them. */
  ids: readonly string[];
  /** The evaluated input's name, in the same terms, so a method can refuse a set holding it. */
  evaluatedId: string;
  /** The i-th held-out input (0 ≤ i < ids.length), host arrays; made on first use. */
  input(i: number): AttentionInputs;
}

/** What a method's offline calibration used and cost: a cell's `calibration_*` figures. */
export interface CalibrationRecord {
  /** Held-out inputs it calibrated on. */
  inputs: number;
  /** Wall time of the calibration itself (outside timing; not the task's making the inputs). */
  ms: number;
  /** The names of those inputs, in order (as the task's {@link AttentionCalibration.ids}). */
  ids: readonly string[];
  /** false when the task gave no held-out inputs and seeded random ones stood in. */
  heldOut: boolean;
}

/** The figures every attention cell of a calibrating method reports; tasks list them. */
export const ATTENTION_CALIBRATION_METRICS: MetricSpec[] = [
  {
    name: "calibration_ms",
    description:
      "wall time of the method's offline calibration (gate training, pattern search) on held-out inputs of the same model, outside timing; absent for methods that calibrate nothing",
    higherIsBetter: false,
    unit: "ms",
  },
  {
    name: "calibration_inputs",
    description:
      "held-out inputs (other input seeds of the same model, never the evaluated one) the method calibrated on",
    higherIsBetter: true,
  },
  {
    name: "calibration_held_out",
    description:
      "1 when the calibration inputs were the task's held-out inputs of the same model; 0 when the task had none and seeded random inputs stood in (the method then learned nothing of the model)",
    higherIsBetter: true,
  },
];

/** Random stand-ins, one set per shape, so a method's GPU and CPU paths see the same set. */
const randomSets = new Map<string, AttentionCalibration>();

/**
 * Seeded N(0, ·) inputs of `shape` (randomInputs, seeds 0x9a1b0 + i), for problems whose task
 * gives no held-out inputs (the family's tests): a method calibrated on them learns only the
 * shape, and its cells say so (`calibration_held_out` 0).
 */
export function randomCalibration(shape: AttentionShape): AttentionCalibration {
  const key = `random|${JSON.stringify(shape)}`;
  let set = randomSets.get(key);
  if (!set) {
    const made = new Map<number, AttentionInputs>();
    const seeds = Array.from({ length: 16 }, (_, i) => 0x9a1b0 + i);
    set = {
      key,
      ids: seeds.map((s) => `random seed ${s}`),
      evaluatedId: "the evaluated input",
      input(i) {
        let inputs = made.get(i);
        if (!inputs) made.set(i, inputs = randomInputs(shape, seeds[i]));
        return inputs;
      },
    };
    randomSets.set(key, set);
  }
  return set;
}

/**
 * The first `count` held-out inputs of a problem's calibration set (or of the random stand-in
 * when the task gives none), checked: never the evaluated input, and enough of them.
 *
 * @param problem the problem being calibrated for
 * @param count how many held-out inputs the method asks for
 * @param method the asking method's id, for messages
 * @returns the set's key and ids, the inputs, and whether they are the task's held-out inputs
 * @throws {Error} when the set names the evaluated input among its inputs, or holds fewer than
 *   `count`
 */
export function heldOutInputs<I, V>(
  problem: AttentionProblem<I, V>,
  count: number,
  method: string,
): { key: string; ids: readonly string[]; input(i: number): AttentionInputs; heldOut: boolean } {
  const set = problem.calibration ?? randomCalibration(problem.shape);
  if (set.ids.includes(set.evaluatedId)) {
    throw new Error(
      `${method} calibrates on held-out inputs only, but the calibration set '${set.key}' holds the evaluated input (${set.evaluatedId})`,
    );
  }
  if (count > set.ids.length) {
    throw new RangeError(
      `${method} asks for ${count} calibration inputs, but the task gives ${set.ids.length}`,
    );
  }
  const ids = set.ids.slice(0, count);
  return {
    key: `${set.key}|${ids.join(",")}`,
    ids,
    input: (i) => set.input(i),
    heldOut: problem.calibration !== undefined,
  };
}
