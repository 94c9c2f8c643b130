// SparseD: sparse attention for diffusion language models. Full attention for the early denoising
// steps; at the first sparse step, head-specific block patterns are computed once from that
// step's exact attention (per query block, the key blocks holding the most attention mass), and
// every later step reuses them unchanged. On single-step shapes the only step is the pattern step.
import {
  assertIterationBounds,
  attentionFlops,
  type AttentionShape,
  BLOCK_WORKGROUP,
  blockAttentionMap,
  blockGeometry,
  blockProbabilityIterations,
  blockProbabilityPassWgsl,
  blockSparseParameters,
  blockTieAlternatives,
  boundaryNearTie,
  chooseBlocksFor,
  compilePipeline,
  defineAttentionMethod,
  denseKeys,
  densePairsPerHead,
  keepCount,
  keysOfBlocks,
  queryCount,
  rowLseIterations,
  rowLsePassWgsl,
  setupStagedBlockSparse,
  type SlicePlan,
  stepCount,
} from "../../bench/families/attention/mod.ts";

// Masses this close (relatively) at the budget's boundary are a near-tie float32 may flip.
const TIE_GAP = 1e-3;

/**
 * Steps run with full attention: the share `skip` of the steps, rounded, always leaving the last
 * step sparse (so a single-step shape computes its pattern from its only step).
 */
export function denseSteps(steps: number, skip: number): number {
  return Math.max(0, Math.min(steps - 1, Math.round(skip * steps)));
}

/** Where each slice's selection comes from: itself, dense (early steps), or the pattern step. */
export function sparsedPlan(shape: AttentionShape, density: number, skip: number): SlicePlan {
  const steps = stepCount(shape);
  const perStep = shape.heads / steps;
  const pattern = denseSteps(steps, skip);
  const source: number[] = [];
  const share: number[] = [];
  for (let slice = 0; slice < shape.heads; slice++) {
    const step = Math.floor(slice / perStep);
    source.push(step < pattern ? slice : pattern * perStep + (slice % perStep));
    share.push(step < pattern ? 1 : density);
  }
  return { source, density: share };
}

export const sparsedAttention = defineAttentionMethod({
  id: "sparsed-attention",
  family: "attention",
  title: "SparseD (full early steps, one pattern reused)",
  fidelity: {
    level: "simplified",
    reason:
      "SparseD's full early steps and one reused exact-mass block pattern; the prompt/generation split of selection is not modelled",
  },
  description:
    "Full attention for the first `skip` share of the steps; then, per head, each query block keeps the key blocks with the most exact attention mass at the first sparse step (`density` of them), and later steps reuse that pattern unchanged.",
  paper: {
    title: "SparseD: Sparse Attention for Diffusion Language Models",
    year: 2025,
    link: "https://arxiv.org/abs/2509.24014",
  },
  version: "1.0.0",
  parameters: {
    ...blockSparseParameters([64]),
    density: {
      type: "number",
      description:
        "share of the visible key blocks each query block keeps at sparse steps (the paper's `select`)",
      default: 0.3,
      min: 0.001,
      max: 1,
      sweep: [0.1, 0.2, 0.3],
    },
    skip: {
      type: "number",
      description: "share of the steps (the first ones, rounded) run with full attention",
      default: 0.2,
      min: 0,
      max: 1,
      sweep: [0.2],
    },
  },
  capabilities: { requires: ["webgpu"], features: ["causal", "non-causal"] },
  notes:
    "The pattern is computed from the exact attention of the first sparse step: a dense log-sum-exp pass and a block-mass pass over that step's q·k (one dense attention's FLOPs, counted in extraFlops), so on single-step tasks it is slower than dense and only multi-step tasks can show the speed-up (steps × dense / (dense steps + 1 + sparse steps × density)). The query block's own block is always kept. The paper's block size is 32–128 with select 0.3–0.5 on real DLMs; its prompt/generation split of the selection is not modelled. All steps are encoded in one submission (the timed unit is the whole run of steps).",
  impl: {
    budgetKnob: { param: "density", direction: "increasing" },
    setup(gpu, { shape, inputs, params }) {
      const steps = stepCount(shape);
      const perStep = shape.heads / steps;
      const patternSlice = denseSteps(steps, params.skip) * perStep;
      return setupStagedBlockSparse(gpu, {
        shape,
        inputs,
        block: params.blockSize,
        density: params.density,
        plan: sparsedPlan(shape, params.density, params.skip),
        scoring: {
          async build({ gpu, geometry, scores, lse, uniforms, bind }) {
            const { device } = gpu;
            assertIterationBounds({
              "sparsed-row-lse": rowLseIterations(shape),
              "sparsed-mass": blockProbabilityIterations(shape, params.blockSize),
            });
            const [lsePass, massPass] = await Promise.all([
              compilePipeline(device, rowLsePassWgsl(shape.headDim), "sparsed-row-lse"),
              compilePipeline(
                device,
                blockProbabilityPassWgsl(shape.headDim, "sum"),
                "sparsed-block-mass",
              ),
            ]);
            const u = uniforms(patternSlice, 0);
            return {
              stages: [{
                first: 0,
                count: shape.heads,
                passes: [
                  [lsePass.pipeline, bind(lsePass.pipeline, [inputs.q, inputs.k, lse, u]), [
                    Math.ceil(queryCount(shape) / BLOCK_WORKGROUP),
                    perStep,
                    1,
                  ]],
                  [
                    massPass.pipeline,
                    bind(massPass.pipeline, [inputs.q, inputs.k, lse, scores, u]),
                    [Math.ceil(geometry.blocks / BLOCK_WORKGROUP), geometry.queryBlocks, perStep],
                  ],
                ],
              }],
              compileMs: lsePass.compileMs + massPass.compileMs,
              buffers: [],
              // Two passes over the pattern step's q·k (half an attention's FLOPs each).
              extraFlops: attentionFlops(perStep * densePairsPerHead(shape), shape.headDim),
            };
          },
        },
      });
    },
    selectKeys({ shape, params, inputs }, head, row) {
      const steps = stepCount(shape);
      if (Math.floor(head / (shape.heads / steps)) < denseSteps(steps, params.skip)) {
        return denseKeys(shape, row);
      }
      const block = params.blockSize;
      const qb = Math.floor(row / block);
      const slice = sparsedPlan(shape, params.density, params.skip).source[head];
      const mass = blockAttentionMap(shape, inputs, { pool: "sum", block, head: slice, qb });
      const chosen = chooseBlocksFor(
        blockGeometry(shape, block),
        params.density,
        qb,
        (kb) => mass[kb],
      );
      return keysOfBlocks(shape, block, chosen, row);
    },
    ambiguousRow({ shape, params, inputs }, head, row) {
      const steps = stepCount(shape);
      if (Math.floor(head / (shape.heads / steps)) < denseSteps(steps, params.skip)) return false;
      const block = params.blockSize;
      const geometry = blockGeometry(shape, block);
      const qb = Math.floor(row / block);
      const slice = sparsedPlan(shape, params.density, params.skip).source[head];
      return boundaryNearTie(geometry, qb, {
        scores: blockAttentionMap(shape, inputs, { pool: "sum", block, head: slice, qb }),
        keep: keepCount(geometry.visible(qb), params.density),
        relativeGap: TIE_GAP,
      });
    },
    tieAlternatives({ shape, params, inputs }, head, row) {
      const steps = stepCount(shape);
      if (Math.floor(head / (shape.heads / steps)) < denseSteps(steps, params.skip)) return [];
      const block = params.blockSize;
      const geometry = blockGeometry(shape, block);
      const qb = Math.floor(row / block);
      const slice = sparsedPlan(shape, params.density, params.skip).source[head];
      return blockTieAlternatives(geometry, qb, {
        scores: blockAttentionMap(shape, inputs, { pool: "sum", block, head: slice, qb }),
        keep: keepCount(geometry.visible(qb), params.density),
        relativeGap: TIE_GAP,
      }).map((chosen) => keysOfBlocks(shape, block, chosen, row));
    },
    nominalDensity(shape, params) {
      const steps = stepCount(shape);
      const dense = denseSteps(steps, params.skip);
      return (dense + (steps - dense) * params.density) / steps;
    },
    // The pattern step's slices work out every visible q·k for the block masses; the others
    // score what they attend.
    scoredPairs(shape, params, visited) {
      const perStep = shape.heads / stepCount(shape);
      const pattern = denseSteps(stepCount(shape), params.skip) * perStep;
      const queries = queryCount(shape);
      let pairs = 0;
      for (let slice = 0; slice < shape.heads; slice++) {
        if (slice >= pattern && slice < pattern + perStep) {
          pairs += densePairsPerHead(shape);
          continue;
        }
        for (let row = 0; row < queries; row++) pairs += visited[slice * queries + row];
      }
      return pairs;
    },
  },
});
