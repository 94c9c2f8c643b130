// Calibration data as every pruning task builds it: which training rows it draws (a seeded
// shuffle), and a Calibration over batches of them that can stop each batch at a layer's input.
import type { Linear } from "../../nn/layers.ts";
import type { Param } from "../../nn/param.ts";
import { mulberry32 } from "../../random.ts";
import type { Calibration, CalibrationRunOptions } from "./_interface.ts";

/**
 * The first `count` of a seeded shuffle of `0 … total−1` (a partial Fisher–Yates over mulberry32):
 * the training rows (images, context windows) a task calibrates with.
 *
 * @param total rows to draw from
 * @param count rows to draw
 * @param seed the case seed
 * @returns `count` distinct indices, in drawing order
 * @throws {RangeError} when `count` is not an integer in [0, total]
 * @example
 * ```ts
 * import { calibrationSample } from "./mod.ts";
 * import { assertEquals } from "../../../tests/assert.ts";
 * const rows = calibrationSample(10, 4, 7);
 * assertEquals(rows.length, 4);
 * assertEquals([...calibrationSample(10, 4, 7)], [...rows]);
 * ```
 */
export function calibrationSample(total: number, count: number, seed: number): Int32Array {
  if (!Number.isInteger(count) || count < 0 || count > total) {
    throw new RangeError(
      `Cannot draw ${count} calibration rows: expected an integer between 0 and the ${total} available`,
    );
  }
  const order = Int32Array.from({ length: total }, (_, i) => i);
  const next = mulberry32(seed);
  for (let i = 0; i < count; i++) {
    const j = i + Math.floor(next() * (total - i));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order.slice(0, count);
}

/** What {@link batchCalibration} feeds: batches of calibration rows and how to run one. */
export interface CalibrationBatches {
  /** Rows over every batch (images or tokens). */
  rows: number;
  batches: number;
  /**
   * Runs batch `b` forward through the model as it is now; `until`, when given, is the layer
   * whose input is all the pass must reach (a source may resume from a cached state before it).
   */
  forward(b: number, until?: Linear): void;
  /** Runs batch `b` forward and backward, adding to the parameters' gradients. */
  backward(b: number): void;
  /** Runs batch `b` forward and returns its logits; without it `batchLogits` throws. */
  logits?(b: number): Float32Array;
  /** Backward from ∂loss/∂logits of the last `logits` call; without it `batchBackward` throws. */
  backwardFrom?(dlogits: Float32Array): void;
  /** The model's parameters, whose gradients `gradients()` zeroes first. */
  parameters(): Param[];
}

/** Thrown by the hook that ends a batch at a layer's input; never escapes `run`. */
const STOP = Symbol("calibration stops here");

/**
 * A {@link Calibration} over batches. `run({ until })` ends each batch once `until` has seen its
 * input (after every hook already on it, which is when a method's statistics are complete), so a
 * method that gathers one layer's inputs at a time pays only for the layers before it.
 *
 * @param source the batches
 * @returns the calibration a task hands to {@link pruneModel}
 */
export function batchCalibration(source: CalibrationBatches): Calibration {
  return {
    rows: source.rows,
    run(options: CalibrationRunOptions = {}) {
      const until: Linear | undefined = options.until;
      const stop = () => {
        throw STOP;
      };
      if (until) until.inputHooks.push(stop);
      try {
        for (let b = 0; b < source.batches; b++) {
          try {
            source.forward(b, until);
          } catch (e) {
            if (e !== STOP) throw e;
          }
        }
      } finally {
        if (until) until.inputHooks.splice(until.inputHooks.indexOf(stop), 1);
      }
    },
    gradients() {
      for (const p of source.parameters()) p.grad.fill(0);
      for (let b = 0; b < source.batches; b++) source.backward(b);
    },
    batches: source.batches,
    batchLogits(b) {
      if (!source.logits) throw new Error("This calibration does not return logits");
      if (!Number.isInteger(b) || b < 0 || b >= source.batches) {
        throw new RangeError(`No calibration batch ${b}: there are ${source.batches}`);
      }
      return source.logits(b);
    },
    batchBackward(dlogits) {
      if (!source.backwardFrom) {
        throw new Error("This calibration does not run backward from logits");
      }
      source.backwardFrom(dlogits);
    },
  };
}

/**
 * A {@link Calibration} with no data whose every use throws: for methods that read none
 * (magnitude, random), so a test proves they do not.
 *
 * @param method the method's name, for the message
 */
export function noCalibration(method: string): Calibration {
  const refuse = (): never => {
    throw new Error(`${method} reads no calibration data`);
  };
  return {
    rows: 0,
    batches: 0,
    run: refuse,
    gradients: refuse,
    batchLogits: refuse,
    batchBackward: refuse,
  };
}
