import { assert, assertEquals } from "../tests/assert.ts";
import type { Sample } from "./plugin.ts";
import { mulberry32 } from "./random.ts";
import { relativeHalfWidth, sampleInterleaved, type SamplingPolicy } from "./sampling.ts";

function participant(isReference: boolean, next: () => number) {
  return {
    isReference,
    taken: 0,
    sample(): Promise<Sample> {
      this.taken++;
      return Promise.resolve({ wallMs: next(), kernelMs: null, reps: 1 });
    },
  };
}

const policy: SamplingPolicy = {
  warmup: 1,
  minRuns: 5,
  maxRuns: 40,
  targetRelativeHalfWidth: 0.03,
  budgetMs: 60_000,
  minSampleMs: 10,
};

Deno.test("sampleInterleaved() stops a steady cell at the minimum and times a noisy one to the cap", async () => {
  const uniform = mulberry32(7);
  const steady = participant(false, () => 10);
  const noisy = participant(false, () => 1 + 9 * uniform());
  const reference = participant(true, () => 20);
  const series = await sampleInterleaved([reference, steady, noisy], {
    policy,
    onFailure: () => Promise.resolve(),
  });
  assertEquals(series.get(steady)!.samples.length, 5);
  assertEquals(series.get(steady)!.converged, true);
  assertEquals(series.get(noisy)!.samples.length, 40);
  assertEquals(series.get(noisy)!.converged, false);
  // The baseline is timed in every round any other cell is, so every sample has a partner.
  assertEquals(series.get(reference)!.rounds, series.get(noisy)!.rounds);
  assertEquals(series.get(steady)!.rounds, [0, 1, 2, 3, 4]);
});

Deno.test("sampleInterleaved() stops every cell at the minimum once the case budget is spent", async () => {
  const uniform = mulberry32(3);
  const noisy = participant(false, () => 1 + 9 * uniform());
  const reference = participant(true, () => 20);
  const series = await sampleInterleaved([reference, noisy], {
    policy: { ...policy, budgetMs: 0 },
    onFailure: () => Promise.resolve(),
  });
  assertEquals(series.get(noisy)!.samples.length, 5);
  assertEquals(series.get(noisy)!.converged, false);
});

Deno.test("sampleInterleaved() reports a participant whose sample throws and goes on with the rest", async () => {
  let calls = 0;
  const failing = {
    isReference: false,
    sample: () =>
      ++calls > 3 ? Promise.reject(new Error("boom")) : Promise.resolve({
        wallMs: 1,
        kernelMs: null,
        reps: 1,
      }),
  };
  const fine = participant(true, () => 2);
  const failures: unknown[] = [];
  const series = await sampleInterleaved([fine, failing], {
    policy,
    onFailure: (_p, error) => {
      failures.push(error);
      return Promise.resolve();
    },
  });
  assertEquals(failures.length, 1);
  assert(!series.has(failing));
  assertEquals(series.get(fine)!.samples.length, 5);
});

Deno.test("relativeHalfWidth() is 0 for identical samples and infinite for one", () => {
  assertEquals(relativeHalfWidth([5, 5, 5]), 0);
  assertEquals(relativeHalfWidth([5]), Infinity);
  assert(relativeHalfWidth([1, 2, 3, 4, 50]) > 0.3);
});
