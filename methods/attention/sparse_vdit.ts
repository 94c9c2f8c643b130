// Sparse-vDiT: each head runs one fixed sparse pattern (diagonal, multi-diagonal, vertical stripe)
// or dense, chosen by an offline, cost-aware search (sparse_vdit_patterns.ts) on held-out inputs
// of the same model, as the paper searches once per model; the timed work is one block-sparse
// attend pass over the chosen key blocks.
import { uploadStorage } from "../../bench/gpu/buffers.ts";
import type { GpuContext } from "../../bench/gpu/device.ts";
import { bindInOrder, encodePasses, type Pass } from "../../bench/gpu/passes.ts";
import {
  assertIterationBound,
  type AttentionGpuInputs,
  type AttentionKernel,
  type AttentionProblem,
  type AttentionShape,
  BLOCK_WORKGROUP,
  blockAttendIterations,
  blockAttendPassWgsl,
  blockGeometry,
  blockSparseParameters,
  blockUniforms,
  type CalibrationRecord,
  compilePipeline,
  createAttentionOutputs,
  defineAttentionMethod,
  heldOutInputs,
  keysOfBlocks,
  queryCount,
} from "../../bench/families/attention/mod.ts";
import { type PatternPlan, searchPatterns, type SearchSettings } from "./sparse_vdit_patterns.ts";

/**
 * Uploads a plan's block lists and binds the family's block attend pass to them: the only timed
 * work.
 */
export async function setupPlannedAttention(
  gpu: GpuContext,
  options: {
    shape: AttentionShape;
    inputs: AttentionGpuInputs;
    block: number;
    plan: PatternPlan;
  },
): Promise<AttentionKernel> {
  const { shape, inputs, block, plan } = options;
  const { device } = gpu;
  const { queryBlocks } = blockGeometry(shape, block);
  const queries = queryCount(shape);
  const maxKeep = Math.max(1, ...plan.blocks.flatMap((perQb) => perQb.map((c) => c.length)));
  assertIterationBound("sparse-vdit-attend", blockAttendIterations(shape, block, maxKeep));
  const view = new DataView(blockUniforms(shape, { block, density: 0 }));
  // Lists are packed by the most blocks any query block keeps, not by every block.
  view.setUint32(28, maxKeep, true);
  const uniforms = device.createBuffer({
    size: view.byteLength,
    usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
  });
  device.queue.writeBuffer(uniforms, 0, view.buffer);
  const lists = new Uint32Array(shape.heads * queryBlocks * maxKeep);
  const counts = new Uint32Array(shape.heads * queryBlocks);
  plan.blocks.forEach((perQb, head) =>
    perQb.forEach((chosen, qb) => {
      lists.set(chosen, (head * queryBlocks + qb) * maxKeep);
      counts[head * queryBlocks + qb] = chosen.length;
    })
  );
  const chosen = uploadStorage(device, lists, "sparse-vdit-blocks");
  const chosenCount = uploadStorage(device, counts, "sparse-vdit-block-counts");
  const { output, visited } = createAttentionOutputs(device, shape);
  const attend = await compilePipeline(
    device,
    blockAttendPassWgsl(shape.headDim, { lse: false }),
    "sparse-vdit-attend",
  );
  const passes: Pass[] = [[
    attend.pipeline,
    bindInOrder(device, attend.pipeline, [
      inputs.q,
      inputs.k,
      inputs.v,
      chosen,
      chosenCount,
      output,
      visited,
      uniforms,
    ]),
    [Math.ceil(queries / BLOCK_WORKGROUP), shape.heads, 1],
  ]];
  return {
    encode: (encoder) => encodePasses(encoder, passes),
    output,
    visited,
    compileMs: attend.compileMs,
    // The pattern search is offline (on held-out inputs, at setup): no selection work is timed.
    extraFlops: 0,
    // The lists the attend pass read, read back from the GPU: what the kernel attended, not the
    // host's plan (a packing or upload slip shows in mass_recall and fails the gate).
    blockChoice: { block, stride: maxKeep, chosen, counts: chosenCount },
    dispose() {
      for (const b of [uniforms, chosen, chosenCount, output, visited]) b.destroy();
    },
  };
}

/** What the search depends on, besides the calibration inputs. */
interface VditConfig extends SearchSettings {
  calibrationInputs: number;
}

/** A searched plan and what its search used and cost. */
interface SearchedPlan {
  plan: PatternPlan;
  record: CalibrationRecord;
}

// One plan per calibration set, shape and settings, shared by the GPU setup and the CPU
// reference: the search runs once, offline, as the paper's does per model.
const searchedPlans = new Map<string, SearchedPlan>();

/**
 * The plan for a problem: the offline search on the first `calibrationInputs` held-out inputs of
 * its calibration set (never the evaluated input: `heldOutInputs` refuses a set holding it).
 *
 * @throws {Error} when the calibration set holds the evaluated input or too few inputs
 */
export function vditPlan<I>(problem: AttentionProblem<I, VditConfig>): SearchedPlan {
  const { shape, params } = problem;
  const set = heldOutInputs(problem, params.calibrationInputs, "sparse-vdit-attention");
  const key = `${set.key}|${
    JSON.stringify(shape)
  }|${params.blockSize}|${params.density}|${params.threshold}`;
  let searched = searchedPlans.get(key);
  if (!searched) {
    const inputs = set.ids.map((_, i) => set.input(i));
    // The task's making of the inputs is not the method's cost: only the search is timed.
    const start = performance.now();
    const plan = searchPatterns(shape, inputs, params);
    searched = {
      plan,
      record: {
        inputs: inputs.length,
        ms: performance.now() - start,
        ids: set.ids,
        heldOut: set.heldOut,
      },
    };
    searchedPlans.set(key, searched);
  }
  return searched;
}

export const sparseVditAttention = defineAttentionMethod({
  id: "sparse-vdit-attention",
  family: "attention",
  title: "Sparse-vDiT (per-head pattern search)",
  fidelity: {
    level: "simplified",
    reason:
      "Sparse-vDiT's offline per-head pattern search on held-out inputs of the same model, on mass recall instead of output loss; no head skipping",
  },
  description:
    "An offline, cost-aware search gives each head one sparse pattern at key-block granularity — a diagonal band, multi-diagonal bands at a period, or vertical stripes (the key blocks with the most calibration mass) — or dense where none reaches the mass-recall threshold; inference runs only that pattern.",
  paper: {
    title:
      "Sparse-vDiT: Unleashing the Power of Sparse Attention to Accelerate Video Diffusion Transformers",
    year: 2025,
    link: "https://arxiv.org/abs/2506.03065",
  },
  // 2.0.0: the offline search runs on held-out calibration inputs, not the evaluated input.
  version: "2.0.0",
  parameters: {
    ...blockSparseParameters([64]),
    calibrationInputs: {
      type: "int",
      description:
        "held-out inputs of the same model (never the evaluated one) the offline search runs on",
      default: 4,
      min: 1,
      max: 8,
      sweep: [4],
    },
    threshold: {
      type: "number",
      description:
        "mean share of dense attention mass a pattern must keep on the calibration rows, else the head runs dense",
      default: 0.8,
      min: 0,
      max: 1,
      sweep: [0.8],
    },
  },
  capabilities: { requires: ["webgpu"], features: ["causal", "non-causal"] },
  notes:
    "Patterns are at key-block granularity (blockSize keys), run by the shared block attend kernel; every pattern keeps the query block's own block so every row sees itself. The search is offline, as the paper's is (it finds the patterns input-independent and searches once per model): it runs at setup, outside the timed region, on `calibrationInputs` (4) held-out inputs the task hands over (other prompts to the same model: for the synthetic tasks the same model seed and other input seeds; never the evaluated input, which the family refuses), its wall time the cell's `calibration_ms`: 64 seeded calibration rows per head and input (pooled over inputs and folded steps), dense block masses in float64; candidates are diagonal, multi-diagonal (period 2–64 blocks) and vertical stripe (blocks ranked by calibration mass) at ¼, ½ and all of the density budget, plus dense; the cheapest by estimated cost (attended pairs × 150 ns, measured on this adapter's block kernel) whose mean mass recall reaches `threshold` wins. Measured search time on one input (8 heads, 2 cores, idle): about 0.1 s at seq 2048 and 0.7 s at seq 8192, several times that when the cores are shared; four inputs cost four times that. Vertical stripes are ranked by the calibration inputs' mass: the model's sinks are in them, the evaluated prompt's far tokens (whose positions are the prompt's) are not. Simplified: the threshold is on mass recall, not the paper's attention-output loss; version 1.0.0 searched the evaluated input itself (optimistic); head skipping (the paper's 3–6% of heads) and per-layer search are not implemented; head fusion is implicit (all heads run in one dispatch). Found (2.0.0, attention-fidelity 3.0.0, seq 2048, 8 heads, threshold 0.8, run 20261202T062935Z-edace2, with a CPU ablation on the same inputs): the paper's premise that patterns depend little on the input reproduces on these heads — searched on 4 held-out prompts or on the evaluated one, the plans give the same error at density 0.05 and 0.2 (0.203 [0.104–0.289] and 0.344 [0.269–0.419] both) and at 0.1 0.307 held-out vs 0.266 on the evaluated input, which attends more (0.643 vs 0.529 of keys); searched on the evaluated input, heads pick multi-diagonals at odd periods (9, 11, 21) that fit that prompt's far tokens, on held-out prompts plain diagonals. Most heads still fall back to dense (6 of 8 at density 0.05: 0.758 of keys attended), so it reaches no matched density of 0.05–0.2 and runs slower than the tiled dense baseline (×0.28–0.77 there). Search time: 0.4–0.6 s for 4 inputs (0.1–0.2 s for one), under load. Earlier (1.0.0, on the evaluated input): the synthetic heads mix sinks with a local diagonal, which no single pattern covers (best recall about 0.72–0.80, vertical stripe), so at the default threshold 0.8 most heads fall back to dense; multi-diagonal is rarely chosen as the data has no frame period. Needle retrieval: haystack rows attend diffusely, so heads fall back to dense (needle accuracy kept, no speed-up); a lower threshold picks patterns from haystack rows that drop every needle. Speed-up follows the skipped pairs (density 0.2, threshold 0.7: estimated 7.7×, measured 7.7× at seq 2048; 1.7× and 1.8× at seq 8192, where 4 of 8 heads fall back); dense-fallback heads run the block kernel, a little slower than the dense baseline's.",
  impl: {
    budgetKnob: { param: "density", direction: "increasing" },
    async setup(gpu, { shape, inputs, params, calibration }) {
      // Searched at setup, outside timing (or already, by the CPU reference).
      const { plan, record } = vditPlan({ shape, inputs, params, calibration });
      const kernel = await setupPlannedAttention(gpu, {
        shape,
        inputs,
        block: params.blockSize,
        plan,
      });
      kernel.calibration = record;
      return kernel;
    },
    selectKeys({ shape, params, inputs, calibration }, head, row) {
      const block = params.blockSize;
      const { plan } = vditPlan({ shape, inputs, params, calibration });
      return keysOfBlocks(shape, block, plan.blocks[head][Math.floor(row / block)], row);
    },
    nominalDensity: (_shape, params) => params.density,
  },
});
