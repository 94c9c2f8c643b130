// Held-out calibration inputs for the synthetic attention tasks: other prompts (input seeds) to
// the same model (model seed) as the evaluated input, of its shape, made on first use, so a
// method that calibrates offline (a learned gate, a pattern search) never sees the input it is
// scored on.
import type {
  AttentionCalibration,
  AttentionInputs,
  AttentionShape,
} from "../../bench/families/attention/mod.ts";
import { type AttentionSeeds, calibrationSeed } from "./generator.ts";

/** Held-out inputs each case offers (a method uses as many as it asks for, from the first). */
export const CALIBRATION_INPUTS = 8;

/** The name a seed goes by in a calibration set's ids. */
export function inputId(seed: number): string {
  return `input seed ${seed}`;
}

/**
 * The calibration set of one case: `CALIBRATION_INPUTS` inputs of `shape`, of the model
 * `seeds.model`, with input seeds `calibrationSeed(taskSeed, caseParams, i)`.
 *
 * @param spec the task's name, the case's shape, parameters and seeds, how to make an input,
 *   and `exclude`: other input seeds of the case (its check input's) the set must not hold either
 * @throws {Error} if a calibration seed equals the evaluated input's or an excluded one (a hash
 *   collision: never seen, but the guarantee is checked, not assumed)
 */
export function syntheticCalibration(spec: {
  task: string;
  shape: AttentionShape;
  taskSeed: number;
  caseParams: Readonly<Record<string, number | boolean | string | undefined>>;
  seeds: AttentionSeeds;
  exclude?: number[];
  /** Names what else the inputs depend on (e.g. the key-norm setting), for the set's key. */
  variant: string;
  make: (seeds: AttentionSeeds) => AttentionInputs;
}): AttentionCalibration {
  const { shape, seeds } = spec;
  const inputSeeds = Array.from(
    { length: CALIBRATION_INPUTS },
    (_, i) => calibrationSeed(spec.taskSeed, spec.caseParams, i),
  );
  const forbidden = new Set([seeds.input, ...(spec.exclude ?? [])]);
  const clash = inputSeeds.find((s) => forbidden.has(s));
  if (clash !== undefined) {
    throw new Error(`calibration input seed ${clash} of ${spec.task} is an evaluated input's`);
  }
  const made = new Map<number, AttentionInputs>();
  return {
    key: `${spec.task}|model ${seeds.model}|${JSON.stringify(shape)}|${spec.variant}`,
    ids: inputSeeds.map(inputId),
    evaluatedId: inputId(seeds.input),
    input(i) {
      if (!(i >= 0 && i < inputSeeds.length)) {
        throw new RangeError(
          `calibration input ${i} does not exist: ${spec.task} offers ${inputSeeds.length}`,
        );
      }
      let inputs = made.get(i);
      if (!inputs) {
        made.set(i, inputs = spec.make({ model: seeds.model, input: inputSeeds[i] }));
      }
      return inputs;
    },
  };
}
