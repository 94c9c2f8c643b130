// Knowledge distillation from a dense teacher (AST, CAST): the student's loss mixes the task's
// cross-entropy with the temperature-softened KL divergence from the teacher's class distribution,
// the form Hinton et al. gave it and both papers use on their logits.

/** How a distilling step weighs its two terms. */
export interface DistillationWeights {
  /** Weight of the task's cross-entropy on the labels. */
  task: number;
  /** Weight of T²·KL(p_teacher,T ‖ p_student,T). */
  kd: number;
  /** Softmax temperature T of both distributions in the KL term (T² keeps its gradient's scale). */
  temperature: number;
}

/** Softmax of one row of `logits` divided by `t`, into `out` (stable: the row's max subtracted). */
function softmaxRow(logits: Float32Array, o: number, c: number, t: number, out: Float64Array) {
  let max = -Infinity;
  for (let j = 0; j < c; j++) max = Math.max(max, logits[o + j] / t);
  let sum = 0;
  for (let j = 0; j < c; j++) sum += out[j] = Math.exp(logits[o + j] / t - max);
  for (let j = 0; j < c; j++) out[j] /= sum;
}

/**
 * The distillation loss, averaged over the rows, and its gradient with respect to the student's
 * logits: `task`·CE(student, labels) + `kd`·T²·KL(softmax(teacher/T) ‖ softmax(student/T)).
 * The teacher is a constant (no gradient flows to it).
 *
 * @param student the student's logits [rows × classes]
 * @param teacher the teacher's logits on the same inputs, same shape
 * @param labels one class per row
 * @param weights the two terms' weights and the temperature
 * @returns the mean loss (nats) and ∂loss/∂(student logits)
 * @throws {RangeError} when the shapes disagree or the temperature is not positive
 * @example
 * ```ts
 * import { distillationLoss } from "./mod.ts";
 * const logits = Float32Array.from([2, 0, -1]);
 * // A teacher that agrees with the student adds nothing to the loss or its gradient.
 * distillationLoss(logits, logits, Int32Array.of(0), { task: 1, kd: 1, temperature: 2 });
 * ```
 */
export function distillationLoss(
  student: Float32Array,
  teacher: Float32Array,
  labels: Int32Array,
  weights: DistillationWeights,
): { loss: number; dlogits: Float32Array } {
  const rows = labels.length, t = weights.temperature;
  if (student.length !== teacher.length || rows === 0 || student.length % rows !== 0) {
    throw new RangeError(
      `Cannot distill as the student's logits (${student.length}), the teacher's (${teacher.length}) and the ${rows} labels must describe the same rows`,
    );
  }
  if (!(t > 0)) throw new RangeError(`Cannot distill as the temperature must be > 0: got ${t}`);
  const c = student.length / rows, dlogits = new Float32Array(student.length);
  const p = new Float64Array(c), ps = new Float64Array(c), pt = new Float64Array(c);
  let loss = 0;
  for (let r = 0; r < rows; r++) {
    const o = r * c;
    softmaxRow(student, o, c, 1, p);
    softmaxRow(student, o, c, t, ps);
    softmaxRow(teacher, o, c, t, pt);
    loss += weights.task * -Math.log(Math.max(p[labels[r]], 1e-300));
    let kl = 0;
    for (let j = 0; j < c; j++) {
      if (pt[j] > 0) kl += pt[j] * (Math.log(pt[j]) - Math.log(Math.max(ps[j], 1e-300)));
    }
    loss += weights.kd * t * t * kl;
    for (let j = 0; j < c; j++) {
      // ∂CE/∂z = p − onehot; ∂(T²·KL)/∂z = T·(p_s,T − p_t,T).
      const task = p[j] - (j === labels[r] ? 1 : 0);
      dlogits[o + j] = (weights.task * task + weights.kd * t * (ps[j] - pt[j])) / rows;
    }
  }
  return { loss: loss / rows, dlogits };
}

/**
 * Copies a dense teacher's weights and biases into a student of the same sizes (AST and CAST
 * prune a trained dense model: their student starts as its teacher).
 *
 * @param student the student's layers in forward order
 * @param teacher the teacher's layers, same sizes
 * @throws {RangeError} when there is no teacher or the sizes differ
 */
export function startFromTeacher(
  student: readonly { weight: { data: Float32Array }; bias: { data: Float32Array } | null }[],
  teacher:
    | readonly { weight: { data: Float32Array }; bias: { data: Float32Array } | null }[]
    | undefined,
): void {
  if (!teacher) throw new RangeError("Cannot start from the dense teacher: the run loaded none");
  if (
    teacher.length !== student.length ||
    teacher.some((l, i) => l.weight.data.length !== student[i].weight.data.length)
  ) {
    throw new RangeError(
      `Cannot start from the dense teacher as its layers (${
        teacher.map((l) => l.weight.data.length)
      }) differ from the student's (${student.map((l) => l.weight.data.length)})`,
    );
  }
  student.forEach((l, i) => {
    l.weight.data.set(teacher[i].weight.data);
    if (l.bias && teacher[i].bias) l.bias.data.set(teacher[i].bias!.data);
  });
}
