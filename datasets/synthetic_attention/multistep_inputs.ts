// Seeded q, k, v for several steps of the same heads (denoising steps of a diffusion model), each
// step drifting from the one before by a controlled amount: what step-reusing sparse methods
// (SparseD, AdaSpa) exploit. README.md beside this file documents the drift.
import type { AttentionInputs, AttentionShape } from "../../bench/families/attention/mod.ts";
import {
  type AttentionSeeds,
  DEFAULT_STRUCTURE,
  generateAttentionInputs,
  type StructureOptions,
} from "./generator.ts";

/** The seed of step `step`'s fresh draw: distinct per step, reproducible from the case seed. */
export function stepSeed(seed: number, step: number): number {
  return (seed ^ Math.imul(step, 0x9e3779b9)) >>> 0;
}

/**
 * Generates q, k, v for a multi-step shape: `shape.heads` = steps × H slices, slice s·H + h being
 * head h at step s (see AttentionShape.steps).
 *
 * Step 0 is {@link generateAttentionInputs} of the H heads from `seeds`. Every later step mixes the
 * one before with a fresh, independent structured draw f_s (same generator, model and input seeds
 * `stepSeed(seed, s)` of each: the fresh pattern is another model's, so that its planted
 * components are independent of step 0's): x_s = √(1−δ²)·x_{s−1} + δ·f_s for each of q, k and v,
 * with δ = `drift`. Since f_s has the
 * distribution of x_{s−1} and is independent of it, every step keeps the structure's scale
 * (√(1−δ²)² + δ² = 1) and adjacent steps correlate by √(1−δ²); the logits of step s blend those of
 * step s−1 (weight 1−δ²) with a fresh pattern's (δ²).
 *
 * @throws RangeError when `drift` is outside [0, 1] or the heads are not a multiple of the steps
 */
export function generateMultistepInputs(
  shape: AttentionShape,
  seeds: AttentionSeeds,
  drift: number,
  options: StructureOptions = DEFAULT_STRUCTURE,
): AttentionInputs {
  const steps = shape.steps ?? 1;
  if (!(drift >= 0 && drift <= 1)) {
    throw new RangeError(
      `Cannot drift steps as 'drift' must be in [0, 1]: current value is ${drift}`,
    );
  }
  if (shape.heads % steps !== 0) {
    throw new RangeError(
      `Cannot fold ${steps} steps into ${shape.heads} heads: heads must be a multiple of steps`,
    );
  }
  const base: AttentionShape = { ...shape, heads: shape.heads / steps, steps: undefined };
  const first = generateAttentionInputs(base, seeds, options);
  const keep = Math.sqrt(1 - drift * drift);
  const out: AttentionInputs = {
    q: new Float32Array(first.q.length * steps),
    k: new Float32Array(first.k.length * steps),
    v: new Float32Array(first.v.length * steps),
  };
  let previous = first;
  for (let s = 0; s < steps; s++) {
    if (s > 0) {
      const fresh = generateAttentionInputs(base, {
        model: stepSeed(seeds.model, s),
        input: stepSeed(seeds.input, s),
      }, options);
      const mix = (a: Float32Array, b: Float32Array) =>
        Float32Array.from(a, (x, i) => keep * x + drift * b[i]);
      previous = {
        q: mix(previous.q, fresh.q),
        k: mix(previous.k, fresh.k),
        v: mix(previous.v, fresh.v),
      };
    }
    out.q.set(previous.q, s * first.q.length);
    out.k.set(previous.k, s * first.k.length);
    out.v.set(previous.v, s * first.v.length);
  }
  return out;
}

/** The pinned sample whose sha256 the task's metadata records. */
export const MULTISTEP_PINNED_SAMPLE = {
  shape: { heads: 4, seq: 64, headDim: 16, causal: false, steps: 2 },
  seeds: { model: 0, input: 0 },
  drift: 0.1,
};
