import { assert, assertAlmostEquals, assertEquals, assertThrows } from "../../../tests/assert.ts";
import { Linear } from "../../nn/layers.ts";
import { mulberry32 } from "../../random.ts";
import { distillationLoss, startFromTeacher } from "./mod.ts";

/** Logits of `rows` × `classes` with entries in [−3, 3), from a seed. */
function randomLogits(rows: number, classes: number, seed: number): Float32Array {
  const rand = mulberry32(seed);
  return Float32Array.from({ length: rows * classes }, () => 6 * rand() - 3);
}

Deno.test("distillationLoss's gradient equals central finite differences of its loss", () => {
  for (
    const [rows, classes, weights] of [
      [3, 7, { task: 1, kd: 1, temperature: 2 }],
      [1, 10, { task: 0.3, kd: 2, temperature: 0.5 }],
      [5, 2, { task: 0, kd: 1, temperature: 4 }],
    ] as const
  ) {
    const student = randomLogits(rows, classes, 11), teacher = randomLogits(rows, classes, 12);
    const labels = Int32Array.from({ length: rows }, (_, r) => (3 * r + 1) % classes);
    const { dlogits } = distillationLoss(student, teacher, labels, weights);
    const h = 1e-2;
    for (let i = 0; i < student.length; i++) {
      const plus = Float32Array.from(student), minus = Float32Array.from(student);
      plus[i] += h;
      minus[i] -= h;
      const numeric = (distillationLoss(plus, teacher, labels, weights).loss -
        distillationLoss(minus, teacher, labels, weights).loss) / (plus[i] - minus[i]);
      assert(
        Math.abs(dlogits[i] - numeric) < 2e-4,
        `entry ${i} of ${rows}×${classes}: ${dlogits[i]} vs ${numeric}`,
      );
    }
  }
});

Deno.test("distillationLoss: the KD term is zero for a teacher equal to the student, positive otherwise", () => {
  const student = randomLogits(4, 5, 3), labels = Int32Array.of(0, 1, 2, 3);
  const kdOnly = { task: 0, kd: 1, temperature: 2 };
  const same = distillationLoss(student, student, labels, kdOnly);
  assertAlmostEquals(same.loss, 0, 1e-12);
  assert(same.dlogits.every((g) => Math.abs(g) < 1e-7));
  const other = distillationLoss(student, randomLogits(4, 5, 4), labels, kdOnly);
  assert(other.loss > 0.01, `KL ${other.loss}`);
  // The task term alone is the mean cross-entropy: one row, uniform logits → ln(classes).
  const flat = new Float32Array(5);
  assertAlmostEquals(
    distillationLoss(flat, flat, Int32Array.of(2), { task: 1, kd: 1, temperature: 2 }).loss,
    Math.log(5),
    1e-12,
  );
  assertThrows(
    () => distillationLoss(student, flat, labels, kdOnly),
    RangeError,
    "same rows",
  );
  assertThrows(
    () => distillationLoss(student, student, labels, { task: 1, kd: 1, temperature: 0 }),
    RangeError,
    "temperature",
  );
});

Deno.test("startFromTeacher copies the teacher's weights and biases, refuses other sizes", () => {
  const teacher = [new Linear("fc1", 3, 2), new Linear("fc2", 2, 1)];
  teacher[0].weight.data.set([1, 2, 3, 4, 5, 6]);
  teacher[0].bias!.data.set([7, 8]);
  teacher[1].weight.data.set([9, 10]);
  const student = [new Linear("fc1", 3, 2), new Linear("fc2", 2, 1)];
  startFromTeacher(student, teacher);
  assertEquals([...student[0].weight.data], [1, 2, 3, 4, 5, 6]);
  assertEquals([...student[0].bias!.data], [7, 8]);
  assertEquals([...student[1].weight.data], [9, 10]);
  assertThrows(() => startFromTeacher(student, [new Linear("x", 4, 2)]), RangeError, "differ");
  assertThrows(() => startFromTeacher(student, undefined), RangeError, "none");
});
