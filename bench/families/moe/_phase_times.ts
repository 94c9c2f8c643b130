// Where a WebGPU MoE layer's time goes: its phases (gate, permutation, grouped matmul, combine)
// timed apart, from timestamp queries between them where the adapter has them, else as separate
// submits; each phase's share of the layer with a bootstrap interval over repeated rounds.
import type { GpuContext } from "../../gpu/device.ts";
import { encodePasses } from "../../gpu/passes.ts";
import { bootstrapInterval, median } from "../../stats.ts";
import type { GpuMoeLayer } from "./_gpu_layer.ts";

/** How the phase times were taken. */
export type PhaseClock = "gpu-timestamp" | "separate-submits";

/**
 * Per-phase figures: `<phase>_time_share` with its `_ci95_low/high`, and `<phase>_ms` (medians
 * over the rounds), for each phase that has GPU passes.
 */
export interface PhaseTimes {
  clock: PhaseClock;
  rounds: number;
  metrics: Record<string, number>;
}

/**
 * Times the layer's phases over `rounds` rounds (after one untimed round): with timestamps, one
 * submit per round with a timestamp between consecutive phases; without, each phase alone in
 * submits of 1 and 3 repetitions, the difference over 2 taken as its time (so the fixed submit
 * cost cancels). Every phase's passes only overwrite their outputs, so repeating one is the same
 * work each time.
 *
 * @param options `rounds` (default 9) and `budgetMs`: stop adding rounds past it (default 3,000;
 *   at least 3 rounds run)
 */
export async function measurePhaseTimes(
  gpu: GpuContext,
  layer: GpuMoeLayer,
  options: { rounds?: number; budgetMs?: number } = {},
): Promise<PhaseTimes> {
  const maxRounds = options.rounds ?? 9, budget = options.budgetMs ?? 3000;
  const phases = layer.phases;
  const { round, dispose } = gpu.timestamps ? timestampRound(gpu, layer) : submitRound(gpu, layer);
  const times: number[][] = [];
  try {
    await round();
    const start = performance.now();
    while (
      times.length < 3 || (times.length < maxRounds && performance.now() - start < budget)
    ) {
      times.push(await round());
    }
  } finally {
    dispose();
  }
  const metrics: Record<string, number> = {};
  const total = times.map((t) => t.reduce((a, b) => a + b, 0));
  phases.forEach(({ name, passes }, i) => {
    // A phase with no passes (a CPU gate's) is not in the layer's GPU time: no figure for it.
    if (passes.length === 0) return;
    const shares = times.map((t, r) => total[r] > 0 ? t[i] / total[r] : 0);
    const [low, high] = bootstrapInterval(shares, median);
    metrics[`${name}_time_share`] = median(shares);
    metrics[`${name}_time_share_ci95_low`] = low;
    metrics[`${name}_time_share_ci95_high`] = high;
    metrics[`${name}_ms`] = median(times.map((t) => t[i]));
  });
  return {
    clock: gpu.timestamps ? "gpu-timestamp" : "separate-submits",
    rounds: times.length,
    metrics,
  };
}

/** One round (each phase's milliseconds), and what frees its buffers. */
interface Rounds {
  round: () => Promise<number[]>;
  dispose: () => void;
}

function timestampRound(gpu: GpuContext, layer: GpuMoeLayer): Rounds {
  const { device } = gpu, n = layer.phases.length + 1;
  const querySet = device.createQuerySet({ type: "timestamp", count: n });
  const resolve = device.createBuffer({
    size: n * 8,
    usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC,
  });
  const readback = device.createBuffer({
    size: n * 8,
    usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
  });
  // An empty pass that only writes timestamp `i` sits before phase i and after the last one.
  const mark = (encoder: GPUCommandEncoder, i: number) =>
    encoder.beginComputePass({
      timestampWrites: { querySet, beginningOfPassWriteIndex: i },
    }).end();
  const round = async () => {
    const encoder = device.createCommandEncoder();
    layer.phases.forEach((phase, i) => {
      mark(encoder, i);
      encodePasses(encoder, phase.passes);
    });
    mark(encoder, n - 1);
    encoder.resolveQuerySet(querySet, 0, n, resolve, 0);
    encoder.copyBufferToBuffer(resolve, 0, readback, 0, n * 8);
    device.queue.submit([encoder.finish()]);
    await readback.mapAsync(GPUMapMode.READ);
    const stamps = new BigUint64Array(readback.getMappedRange().slice(0));
    readback.unmap();
    return layer.phases.map((phase, i) =>
      phase.passes.length > 0 && stamps[i + 1] > stamps[i]
        ? Number(stamps[i + 1] - stamps[i]) / 1e6
        : 0
    );
  };
  return {
    round,
    dispose() {
      querySet.destroy();
      resolve.destroy();
      readback.destroy();
    },
  };
}

function submitRound(gpu: GpuContext, layer: GpuMoeLayer): Rounds {
  const { device } = gpu;
  const timed = async (passes: GpuMoeLayer["phases"][number]["passes"], reps: number) => {
    const encoder = device.createCommandEncoder();
    for (let r = 0; r < reps; r++) encodePasses(encoder, passes);
    const start = performance.now();
    device.queue.submit([encoder.finish()]);
    await device.queue.onSubmittedWorkDone();
    return performance.now() - start;
  };
  const round = async () => {
    const out: number[] = [];
    for (const phase of layer.phases) {
      if (phase.passes.length === 0) {
        out.push(0);
        continue;
      }
      const once = await timed(phase.passes, 1), thrice = await timed(phase.passes, 3);
      out.push(Math.max(0, (thrice - once) / 2));
    }
    return out;
  };
  return { round, dispose: () => {} };
}
