// The reproduction verdict: a re-trained card's main metric against the committed card's.

/**
 * The tolerance on a test metric that is a share (accuracy, adjusted Rand index): 0.002 absolute.
 * On one machine and one Deno, training is deterministic (seeded data order and init, the engine's
 * own WebAssembly GEMM with a fixed summation order), so the metric — and the checkpoint, bytes and
 * all — should come out identical; the cell reports `checkpoint_identical` for that. Across machines
 * or Deno/V8 versions the float32 arithmetic is IEEE and the loops are ours, but the transcendental
 * functions (exp, log, tanh of V8's libm) and any change in a GEMM's blocking can move the last
 * bit, which after thousands of steps flips a few test predictions: 0.002 is 20 of the 10,000 test
 * images (or ~8 of 4,096 routing-recovery points' pairings), far below the gaps the leaderboard
 * compares (tenths of a point and up), and far above one flipped prediction (1e-4).
 */
export const REPRODUCTION_TOLERANCE = 0.002;

/** The main metric of a training card: what the check compares. */
export const CARD_METRICS = ["testAccuracy", "testAri"] as const;

/** A comparison of one metric. */
export interface Reproduction {
  metric: string;
  committed: number;
  retrained: number;
  /** retrained − committed. */
  difference: number;
  tolerance: number;
  passed: boolean;
  /** Why it failed, in words; empty when it passed. */
  message: string;
}

/**
 * The card's main metric: the first of {@link CARD_METRICS} its `metrics` hold.
 *
 * @param card a parsed training card
 * @returns the metric's name and value
 * @throws {Error} when the card holds none of them as a finite number
 */
export function cardMetric(card: unknown): { metric: string; value: number } {
  const metrics = (card as { metrics?: Record<string, unknown> })?.metrics ?? {};
  for (const metric of CARD_METRICS) {
    const value = metrics[metric];
    if (typeof value === "number" && Number.isFinite(value)) return { metric, value };
  }
  throw new Error(
    `a training card's metrics must hold one of ${
      CARD_METRICS.join(", ")
    } as a finite number: found ${Object.keys(metrics).join(", ") || "none"}`,
  );
}

/**
 * Whether `retrained` reproduces `committed` within `tolerance` (absolute, inclusive).
 *
 * @param metric the metric's name, for the message
 * @param values the committed and re-trained values
 * @param tolerance the largest |difference| that passes (default {@link REPRODUCTION_TOLERANCE})
 * @returns the comparison; a non-finite re-trained value fails
 * @example
 * ```ts
 * import { compareMetric } from "./compare.ts";
 * import { assert } from "../../tests/assert.ts";
 * assert(compareMetric("testAccuracy", { committed: 0.97, retrained: 0.97 }).passed);
 * assert(!compareMetric("testAccuracy", { committed: 0.97, retrained: 0.96 }).passed);
 * ```
 */
export function compareMetric(
  metric: string,
  values: { committed: number; retrained: number },
  tolerance = REPRODUCTION_TOLERANCE,
): Reproduction {
  const { committed, retrained } = values;
  const difference = retrained - committed;
  const passed = Number.isFinite(retrained) && Math.abs(difference) <= tolerance;
  const message = passed
    ? ""
    : `${metric} did not reproduce: committed ${committed}, re-trained ${retrained} (difference ${
      difference.toExponential(3)
    }, tolerance ±${tolerance})`;
  return { metric, committed, retrained, difference, tolerance, passed, message };
}
