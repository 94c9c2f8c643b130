// The MNIST MoE model's shape, checkpoint names, token ids and evaluation, shared by the
// training recipe and the `mnist-moe` task so that both score a checkpoint the same way.
import {
  type MoeMethod,
  MoeMlp,
  type MoeModelShape,
  routingProblem,
  RoutingTally,
} from "../../bench/families/moe/mod.ts";
import type { Method, ParamValues } from "../../bench/metadata.ts";
import { argmaxRows } from "../../bench/nn/mlp.ts";
import { imagesAsFloat, type ImageSet } from "../mnist/idx.ts";

/** 784 → 64 (ReLU) → MoE layer of E experts 64 → 32 → 64 with its residual → 10. */
export const MOE_MODEL = { inputs: 784, dim: 64, hidden: 32, classes: 10 } as const;

/** Images per evaluation batch: capacity (Switch) and expert choice act within a batch. */
export const EVAL_BATCH = 256;

/** The model's shape for a method at `experts` (the dense FFN has one wide expert). */
export function modelShape(method: Method, experts: number, params: ParamValues): MoeModelShape {
  const impl = method.impl as MoeMethod;
  const layout = impl.layout?.(experts, MOE_MODEL.hidden, params) ??
    { experts, hidden: MOE_MODEL.hidden };
  return { ...MOE_MODEL, ...layout };
}

/**
 * The checkpoint of `method` trained with `params` for a task at `experts`:
 * `<prefix>-<id>-e<E>` (prefix `mnist-moe` or `fmnist-moe`), E the model's own experts (1 for the dense FFN, whose one checkpoint
 * serves every E), plus `-<name><value>` for each trained parameter whose value is not its
 * default.
 */
export function checkpointName(
  method: Method,
  experts: number,
  params: ParamValues,
  prefix = "mnist-moe",
): string {
  const impl = method.impl as MoeMethod;
  const suffix = impl.trainedParams
    .filter((name) => params[name] !== method.meta.parameters[name].default)
    .map((name) => `-${name.toLowerCase()}${String(params[name]).replace(".", "p")}`)
    .join("");
  const own = modelShape(method, experts, params).experts;
  return `${prefix}-${method.meta.id}-e${own}${suffix}`;
}

/** A gate's seed: the same for every method, so models differ by their gate only. */
export const GATE_SEED = 0x9a7e;

/** A fresh, uninitialized model for `method` with `params` (the gate made by the method). */
export function createModel(method: Method, experts: number, params: ParamValues): MoeMlp {
  const shape = modelShape(method, experts, params);
  const gate = (method.impl as MoeMethod).createGate(
    { dim: shape.dim, experts: shape.experts },
    params,
    { seed: GATE_SEED },
  );
  return new MoeMlp(shape, gate);
}

/**
 * Each image's token id for hash routing: FNV-1a of its 784 pixel bytes as fed to the model
 * (quantized back to bytes), so the id is a function of the input alone.
 */
export function imageIds(x: Float32Array, rows: number, features: number): Uint32Array {
  const ids = new Uint32Array(rows);
  for (let r = 0; r < rows; r++) {
    let h = 0x811c9dc5;
    for (let j = 0; j < features; j++) {
      h ^= Math.round(x[r * features + j] * 255);
      h = Math.imul(h, 0x01000193) >>> 0;
    }
    ids[r] = h;
  }
  return ids;
}

/** Outcomes of a model on images [start, start + count) of `set`, in batches of `batch`. */
export interface MoeEvaluation {
  /** 1 where the image is classified right. */
  correct: Uint8Array;
  tally: RoutingTally;
  /** The first malformed routing of any batch (the gate's well-formedness check), or null. */
  problem: string | null;
}

/**
 * Evaluates `model` in test-set order, `batch` images per forward (eval mode), tallying the
 * routing of every batch.
 */
export function evaluateMoe(
  model: MoeMlp,
  set: ImageSet,
  range: { start: number; count: number; batch?: number },
): MoeEvaluation {
  const { start, count } = range, batch = range.batch ?? EVAL_BATCH;
  const d = set.rows * set.cols;
  const correct = new Uint8Array(count), tally = new RoutingTally(model.shape.experts);
  let problem: string | null = null;
  for (let s = start; s < start + count; s += batch) {
    const n = Math.min(batch, start + count - s);
    const x = imagesAsFloat(set, s, n);
    const { logits } = model.forward(x, n, imageIds(x, n, d), "eval");
    tally.add(model.lastRouting!);
    const p = routingProblem(model.lastRouting!, model.shape.experts);
    if (p && !problem) problem = `batch at image ${s}: ${p}`;
    const pred = argmaxRows(logits, n);
    for (let i = 0; i < n; i++) if (pred[i] === set.labels[s + i]) correct[s - start + i] = 1;
  }
  return { correct, tally, problem };
}

/** Accuracy of an evaluation. */
export function accuracyOf(e: MoeEvaluation): number {
  let c = 0;
  for (const v of e.correct) c += v;
  return c / e.correct.length;
}
