// Methods that calibrate offline (SeerAttention's learned gate, Sparse-vDiT's pattern search)
// calibrate on the synthetic tasks' held-out inputs, never on the input they are scored on: the
// task's real calibration sets, handed to the methods as the bench hands them.
import { assert, assertEquals } from "../tests/assert.ts";
import { defaultParams } from "./metadata.ts";
import type { AttentionInputs } from "./families/attention/mod.ts";
import { inputId } from "../datasets/synthetic_attention/calibration.ts";
import {
  checkInputSeed,
  structuredCase,
} from "../datasets/synthetic_attention/attention_fidelity.ts";
import { seerGate, seerLearnedAttention } from "../methods/attention/seer_learned.ts";
import { sparseVditAttention, vditPlan } from "../methods/attention/sparse_vdit.ts";

/** Whether two inputs hold the same numbers (a calibration input that is the evaluated one). */
function sameData(a: AttentionInputs, b: AttentionInputs): boolean {
  return a.k.length === b.k.length && a.k.every((x, i) => x === b.k[i]);
}

for (const taskSeed of [0, 7]) {
  Deno.test(`calibrating methods train on held-out inputs only (task seed ${taskSeed})`, () => {
    const shape = { heads: 2, seq: 300, headDim: 32, causal: true };
    const c = structuredCase(shape, taskSeed);
    const evaluated = inputId(c.seeds.input);
    const checkInput = inputId(checkInputSeed(c.seeds.input));
    const seerParams = {
      ...defaultParams(seerLearnedAttention.meta.parameters),
      blockSize: 32,
      trainSteps: 3,
    } as Parameters<typeof seerGate>[0]["params"];
    const vditParams = {
      ...defaultParams(sparseVditAttention.meta.parameters),
      blockSize: 32,
    } as Parameters<typeof vditPlan>[0]["params"];
    const problems = [
      { shape, inputs: c.inputs, calibration: c.calibration },
      { shape: c.check.shape, inputs: c.check.inputs, calibration: c.checkCalibration },
    ];
    for (const problem of problems) {
      const records = [
        seerGate({ ...problem, params: seerParams }).record,
        vditPlan({ ...problem, params: vditParams }).record,
      ];
      for (const record of records) {
        assertEquals(record.inputs, 4);
        assertEquals(record.heldOut, true);
        assert(!record.ids.includes(evaluated), `${record.ids} holds ${evaluated}`);
        assert(!record.ids.includes(checkInput), `${record.ids} holds ${checkInput}`);
        assert(record.ms >= 0);
      }
      // By content too: no calibration input is the evaluated input or the check input.
      for (let i = 0; i < 4; i++) {
        const held = problem.calibration.input(i);
        assert(!sameData(held, c.inputs) && !sameData(held, c.check.inputs), `input ${i}`);
      }
    }
  });
}
