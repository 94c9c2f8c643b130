import { assert, assertEquals } from "../tests/assert.ts";
import { commonTickStep, wallClockResolutionMs } from "./timer_resolution.ts";

Deno.test("commonTickStep() finds a quantized clock's step and needs two deltas", () => {
  // Chrome-like quantization: every delta a multiple of 100 µs (in ns).
  assertEquals(commonTickStep([300_000n, 500_000n, 1_200_000n]), 100_000n);
  assertEquals(commonTickStep([7n, 0n, 5n]), 1n);
  assertEquals(commonTickStep([400_000n]), null);
  assertEquals(commonTickStep([0n, 0n]), null);
});

Deno.test("wallClockResolutionMs() is a positive step no coarser than a millisecond here", () => {
  const step = wallClockResolutionMs();
  assert(step > 0 && step <= 1, `step ${step} ms`);
});
