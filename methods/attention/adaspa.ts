// AdaSpa: training-free, adaptive block-sparse attention for video diffusion transformers. At
// search steps (the first, then every `searchEvery` steps) an online precise search measures
// each block's exact attention mass in one pass over q·k, normalizing rows by the log-sum-exp
// cached from the previous step's attention (computed afresh at the first step); each head keeps
// the fewest blocks per query block that reach a `recall` share of its mass; steps in between
// reuse the pattern.
import { createStorage } from "../../bench/gpu/buffers.ts";
import {
  assertIterationBound,
  attentionFlops,
  type AttentionInputs,
  type AttentionProblem,
  type AttentionShape,
  BLOCK_WORKGROUP,
  blockGeometry,
  blockMassOf,
  blockProbabilityIterations,
  blockProbabilityPassWgsl,
  blockTieAlternatives,
  boundaryNearTie,
  chooseTopBlocks,
  compilePipeline,
  defineAttentionMethod,
  densePairsPerHead,
  keysOfBlocks,
  otherSelections,
  perInputCache,
  queryCount,
  rowLogSumExp,
  rowLseIterations,
  rowLsePassWgsl,
  setupStagedBlockSparse,
  type SlicePlan,
  type Stage,
  stepCount,
} from "../../bench/families/attention/mod.ts";
import {
  adaspaBudgetIterations,
  cumulativeMassWgsl,
  headBudgetWgsl,
  massOrderWgsl,
  reachedMassWgsl,
} from "./adaspa_kernel.ts";

// Block masses this close (relatively) at a selection's boundary are a near-tie float32 may flip.
const TIE_GAP = 1e-3;
// A budget decided by less than this share of the head's total mass may flip likewise (sums of a
// few thousand float32 masses are good to about 1e-6 of the total).
const BUDGET_GAP = 1e-5;

/** AdaSpa's parameters, as declared below. */
export type AdaspaParams = {
  blockSize: number;
  recall: number;
  searchEvery: number;
};

/** The search step whose pattern step `step` uses: the last one at or before it. */
export function searchStepOf(step: number, searchEvery: number): number {
  return step - (step % searchEvery);
}

/** Each slice selects from its head's slice at the last search step. */
export function adaspaPlan(shape: AttentionShape, searchEvery: number): SlicePlan {
  const perStep = shape.heads / stepCount(shape);
  const source = Array.from({ length: shape.heads }, (_, slice) => {
    const step = Math.floor(slice / perStep);
    return searchStepOf(step, searchEvery) * perStep + (slice % perStep);
  });
  return { source, density: source.map(() => 1) };
}

/**
 * The head-adaptive budget from a head's block masses (per query block, per visible key block):
 * the fewest blocks k per query block (own block first, then by mass) whose mass summed over the
 * query blocks reaches `recall` of the total. Also says how close the decision was.
 */
export function headBudget(
  masses: Float64Array[],
  ownBlocks: number[],
  recall: number,
): { count: number; margin: number } {
  const blocks = Math.max(...masses.map((m) => m.length));
  const cum = masses.map((m, qb) => {
    const others = [...m].filter((_, kb) => kb !== ownBlocks[qb]).sort((a, b) => b - a);
    const sums = [m[ownBlocks[qb]]];
    for (const x of others) sums.push(sums[sums.length - 1] + x);
    while (sums.length < blocks) sums.push(sums[sums.length - 1]);
    return sums;
  });
  const total = cum.reduce((a, c) => a + c[blocks - 1], 0);
  const target = recall * total;
  const reached = (k: number) => cum.reduce((a, c) => a + c[k - 1], 0);
  let count = blocks;
  for (let k = 1; k <= blocks; k++) {
    if (reached(k) >= target) {
      count = k;
      break;
    }
  }
  // How far the figures on either side of the decision are from the target, relative to the total.
  const above = reached(count) - target;
  const below = count > 1 ? target - reached(count - 1) : Infinity;
  return { count, margin: Math.min(above, below) / total };
}

/** A search slice's CPU reference: its block masses and the head's budget. */
interface Search {
  masses: Float64Array[];
  count: number;
  margin: number;
}

const cachedSearch = perInputCache<Search>();

function searchOf(problem: AttentionProblem<AttentionInputs, AdaspaParams>, slice: number): Search {
  const { shape, inputs, params } = problem;
  const { blockSize: block, recall, searchEvery } = params;
  const key = `${JSON.stringify(shape)}|${block}|${recall}|${searchEvery}|${slice}`;
  return cachedSearch(inputs, key, () => {
    const geometry = blockGeometry(shape, block);
    const perStep = shape.heads / stepCount(shape);
    const previous = slice - perStep;
    // Rows normalized by the previous step's attention's log-sum-exp (over the keys it attended);
    // at the first step by their own dense one.
    const lse = previous < 0 ? undefined : (row: number) =>
      rowLogSumExp(shape, inputs, {
        slice: previous,
        row,
        keys: adaspaKeys(problem, previous, row),
      });
    const masses = Array.from(
      { length: geometry.queryBlocks },
      (_, qb) => blockMassOf(shape, inputs, { block, slice, qb, lse }),
    );
    const owns = Array.from({ length: geometry.queryBlocks }, (_, qb) => geometry.own(qb));
    return { masses, ...headBudget(masses, owns, recall) };
  });
}

/** The CPU reference of the keys row `row` of slice `slice` attends to. */
function adaspaKeys(
  problem: AttentionProblem<AttentionInputs, AdaspaParams>,
  slice: number,
  row: number,
): Int32Array {
  const { shape, params } = problem;
  const source = adaspaPlan(shape, params.searchEvery).source[slice];
  const search = searchOf(problem, source);
  const qb = Math.floor(row / params.blockSize);
  const chosen = chooseTopBlocks(
    blockGeometry(shape, params.blockSize),
    search.count,
    qb,
    (kb) => search.masses[qb][kb],
  );
  return keysOfBlocks(shape, params.blockSize, chosen, row);
}

/** The search steps' stages: each search step's passes, then its slices and those reusing it. */
function buildStages(
  shape: AttentionShape,
  searchEvery: number,
  passesFor: (firstSlice: number, count: number, step: number) => Stage["passes"],
): Stage[] {
  const steps = stepCount(shape);
  const perStep = shape.heads / steps;
  const stages: Stage[] = [];
  for (let step = 0; step < steps; step += searchEvery) {
    const last = Math.min(steps, step + searchEvery);
    stages.push({
      first: step * perStep,
      count: (last - step) * perStep,
      passes: passesFor(step * perStep, perStep, step),
    });
  }
  return stages;
}

export const adaspaAttention = defineAttentionMethod({
  id: "adaspa-attention",
  family: "attention",
  title: "AdaSpa (LSE-cached search, head-adaptive budgets)",
  fidelity: {
    level: "simplified",
    reason:
      "AdaSpa's LSE-cached search and head-adaptive budgets; one block count per head searched over counts, not the paper's hierarchy, no fused search kernel",
  },
  description:
    "Block-sparse attention whose pattern is searched exactly at the first step and every `searchEvery` steps (block attention mass in one pass over q·k, using the row log-sum-exp cached from the previous step's attention) and reused in between; each head keeps the fewest blocks per query block that reach a `recall` share of its attention mass.",
  paper: {
    title: "Training-free and Adaptive Sparse Attention for Efficient Long Video Generation",
    year: 2025,
    link: "https://arxiv.org/abs/2502.21079",
  },
  version: "1.0.0",
  parameters: {
    recall: {
      type: "number",
      description:
        "share of each head's attention mass its kept blocks must reach at a search step (sets the budget per head)",
      default: 0.9,
      min: 0.01,
      max: 1,
      sweep: [0.7, 0.8, 0.9, 0.95],
    },
    searchEvery: {
      type: "int",
      description: "steps between searches (the first step always searches)",
      default: 3,
      min: 1,
      max: 1000,
      sweep: [3],
    },
    blockSize: {
      type: "int",
      description: "keys (and queries) per block",
      default: 64,
      min: 4,
      max: 1024,
      sweep: [64],
    },
  },
  capabilities: { requires: ["webgpu"], features: ["causal", "non-causal"] },
  notes:
    "The budget is data-dependent (the fewest blocks reaching the recall target), so nominalDensity reports 1, the most it may keep: read realizedDensity for what it attended. The budget is one block count per head, shared by its query blocks (own block always kept), searched exhaustively over counts rather than over the paper's hierarchy of levels. The search pass is one pass over q·k per search step (half an attention's FLOPs); the first step also needs a dense log-sum-exp pass, so on single-step tasks it costs a whole dense attention on top of the sparse one and is slower than dense; multi-step tasks amortize it. Reusing the previous step's LSE after drift makes rows' masses only approximately normalized. All steps are encoded in one submission (the timed unit is the whole run of steps); the paper's fused search kernel and its warm-up with full attention are not reproduced.",
  impl: {
    // A higher recall target keeps more blocks per head.
    budgetKnob: { param: "recall", direction: "increasing" },
    setup(gpu, { shape, inputs, params }) {
      const perStep = shape.heads / stepCount(shape);
      return setupStagedBlockSparse(gpu, {
        shape,
        inputs,
        block: params.blockSize,
        // The recall target rides in the uniforms' density: the budget pass reads it there.
        density: params.recall,
        plan: adaspaPlan(shape, params.searchEvery),
        scoring: {
          async build({ gpu, geometry, scores, lse, counts, uniforms, bind }) {
            const { device } = gpu;
            const cum = createStorage(
              device,
              shape.heads * geometry.queryBlocks * geometry.blocks * 4,
              "adaspa-cumulative-mass",
            );
            const reached = createStorage(
              device,
              shape.heads * geometry.blocks * 4,
              "adaspa-reached-mass",
            );
            const budgetLoops = adaspaBudgetIterations(geometry.blocks, geometry.queryBlocks);
            assertIterationBound("adaspa-budget", budgetLoops);
            assertIterationBound("adaspa-first-lse", rowLseIterations(shape));
            assertIterationBound(
              "adaspa-search",
              blockProbabilityIterations(shape, params.blockSize),
            );
            const [lsePass, massPass, orderPass, cumPass, reachedPass, budgetPass] = await Promise
              .all([
                compilePipeline(device, rowLsePassWgsl(shape.headDim), "adaspa-first-lse"),
                compilePipeline(
                  device,
                  blockProbabilityPassWgsl(shape.headDim, "sum"),
                  "adaspa-search",
                ),
                compilePipeline(device, massOrderWgsl(shape.headDim), "adaspa-order"),
                compilePipeline(device, cumulativeMassWgsl(shape.headDim), "adaspa-cum"),
                compilePipeline(device, reachedMassWgsl(shape.headDim), "adaspa-reached"),
                compilePipeline(device, headBudgetWgsl(shape.headDim), "adaspa-budget"),
              ]);
            let searches = 0;
            const stages = buildStages(shape, params.searchEvery, (first, count, step) => {
              searches++;
              const u = uniforms(first, step === 0 ? 0 : perStep);
              return [
                ...(step === 0
                  ? [
                    [lsePass.pipeline, bind(lsePass.pipeline, [inputs.q, inputs.k, lse, u]), [
                      Math.ceil(queryCount(shape) / BLOCK_WORKGROUP),
                      count,
                      1,
                    ]] as Stage["passes"][number],
                  ]
                  : []),
                [massPass.pipeline, bind(massPass.pipeline, [inputs.q, inputs.k, lse, scores, u]), [
                  Math.ceil(geometry.blocks / BLOCK_WORKGROUP),
                  geometry.queryBlocks,
                  count,
                ]],
                [orderPass.pipeline, bind(orderPass.pipeline, [scores, cum, u]), [
                  Math.ceil(geometry.blocks / BLOCK_WORKGROUP),
                  geometry.queryBlocks,
                  count,
                ]],
                [cumPass.pipeline, bind(cumPass.pipeline, [cum, u]), [
                  Math.ceil(geometry.queryBlocks / BLOCK_WORKGROUP),
                  count,
                  1,
                ]],
                [reachedPass.pipeline, bind(reachedPass.pipeline, [cum, reached, u]), [
                  Math.ceil(geometry.blocks / BLOCK_WORKGROUP),
                  count,
                  1,
                ]],
                [budgetPass.pipeline, bind(budgetPass.pipeline, [reached, counts, u]), [
                  count,
                  1,
                  1,
                ]],
              ];
            });
            // Each search is one pass over its step's q·k; the first step's LSE pass another.
            const halfPass = attentionFlops(perStep * densePairsPerHead(shape), shape.headDim) / 2;
            return {
              stages,
              compileMs: [lsePass, massPass, orderPass, cumPass, reachedPass, budgetPass].reduce(
                (sum, pass) => sum + pass.compileMs,
                0,
              ),
              buffers: [cum, reached],
              extraFlops: (searches + 1) * halfPass,
            };
          },
        },
      });
    },
    selectKeys: adaspaKeys,
    ambiguousRow(problem, head, row) {
      const { shape, params } = problem;
      const source = adaspaPlan(shape, params.searchEvery).source[head];
      const search = searchOf(problem, source);
      if (search.margin <= BUDGET_GAP) return true;
      const qb = Math.floor(row / params.blockSize);
      const geometry = blockGeometry(shape, params.blockSize);
      return boundaryNearTie(geometry, qb, {
        scores: search.masses[qb],
        keep: search.count,
        relativeGap: TIE_GAP,
      });
    },
    // The head's budget one block either way where the recall target is a near-tie, or the
    // boundary blocks swapped; a flip at an earlier step that changes a later step's search is
    // not followed (such rows stay excused).
    tieAlternatives(problem, head, row) {
      const { shape, params } = problem;
      const source = adaspaPlan(shape, params.searchEvery).source[head];
      const search = searchOf(problem, source);
      const qb = Math.floor(row / params.blockSize);
      const geometry = blockGeometry(shape, params.blockSize);
      const scores = search.masses[qb];
      const counts = search.margin <= BUDGET_GAP ? [search.count - 1, search.count + 1] : [];
      const choices = [
        ...counts.filter((c) => c >= 1).map((c) =>
          chooseTopBlocks(geometry, c, qb, (kb) => scores[kb])
        ),
        ...blockTieAlternatives(geometry, qb, {
          scores,
          keep: search.count,
          relativeGap: TIE_GAP,
        }),
      ];
      return otherSelections(
        adaspaKeys(problem, head, row),
        choices.map((chosen) => keysOfBlocks(shape, params.blockSize, chosen, row)),
      );
    },
    // Data-dependent: the most it may keep (see notes); the run reports what it attended.
    nominalDensity: () => 1,
  },
});
