// SeerAttention with its training-free oracle gate: blocks of the attention map are kept where
// their largest true attention probability is highest. SeerAttention learns a gate that predicts
// this from pooled q and k; the oracle is the target that gate is distilled towards, so it shows
// the best a learned block gate can do, at more than dense cost.
import { createStorage } from "../../bench/gpu/buffers.ts";
import {
  assertIterationBounds,
  attentionFlops,
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
  densePairsPerHead,
  keepCount,
  keysOfBlocks,
  queryCount,
  rowLseIterations,
  rowLsePassWgsl,
  setupBlockSparse,
} from "../../bench/families/attention/mod.ts";

// Gates this close (relatively) to the last one kept are a near-tie float rounding may flip.
const TIE_GAP = 1e-4;

export const seerOracleAttention = defineAttentionMethod({
  id: "seer-oracle-attention",
  family: "attention",
  title: "SeerAttention, oracle gate",
  fidelity: {
    level: "oracle",
    reason:
      "ranks key blocks by the true block max-pooled attention map, computed densely: an upper bound at the budget, slower than dense",
  },
  description:
    "Keeps, per query block, its own block and the key blocks whose largest true attention probability is highest (the block max-pooled attention map SeerAttention's gate is trained to predict).",
  paper: {
    title: "SeerAttention: Learning Intrinsic Sparse Attention in Your LLMs",
    year: 2024,
    link: "https://arxiv.org/abs/2410.13276",
  },
  version: "1.0.0",
  parameters: blockSparseParameters([64]),
  capabilities: { requires: ["webgpu"], features: ["causal", "non-causal"] },
  notes:
    "Only the training-free oracle gate is implemented: computing it costs two dense passes over q·k, so it is slower than dense and is an upper bound on quality, not a speed-up. The learned gate, distilled from this oracle on pooled q and k, is seer-learned-attention.",
  impl: {
    budgetKnob: { param: "density", direction: "increasing" },
    setup(gpu, { shape, inputs, params }) {
      return setupBlockSparse(gpu, {
        shape,
        inputs,
        block: params.blockSize,
        density: params.density,
        scoring: {
          async build({ gpu, uniforms, scores, geometry, bind }) {
            const { device } = gpu;
            assertIterationBounds({
              "seer-row-lse": rowLseIterations(shape),
              "seer-oracle-gate": blockProbabilityIterations(shape, params.blockSize),
            });
            const lse = createStorage(device, shape.heads * queryCount(shape) * 4, "row-lse");
            const [lsePass, gatePass] = await Promise.all([
              compilePipeline(device, rowLsePassWgsl(shape.headDim), "seer-row-lse"),
              compilePipeline(
                device,
                blockProbabilityPassWgsl(shape.headDim, "max"),
                "seer-oracle-gate",
              ),
            ]);
            return {
              passes: [
                [lsePass.pipeline, bind(lsePass.pipeline, [inputs.q, inputs.k, lse, uniforms]), [
                  Math.ceil(queryCount(shape) / BLOCK_WORKGROUP),
                  shape.heads,
                  1,
                ]],
                [
                  gatePass.pipeline,
                  bind(gatePass.pipeline, [inputs.q, inputs.k, lse, scores, uniforms]),
                  [
                    Math.ceil(geometry.blocks / BLOCK_WORKGROUP),
                    geometry.queryBlocks,
                    shape.heads,
                  ],
                ],
              ],
              compileMs: lsePass.compileMs + gatePass.compileMs,
              buffers: [lse],
              // Two passes over every visible q·k (half the FLOPs of attention each).
              extraFlops: attentionFlops(shape.heads * densePairsPerHead(shape), shape.headDim),
            };
          },
        },
      });
    },
    selectKeys({ shape, params, inputs }, head, row) {
      const block = params.blockSize;
      const qb = Math.floor(row / block);
      const gates = blockAttentionMap(shape, inputs, { pool: "max", block, head, qb });
      const chosen = chooseBlocksFor(
        blockGeometry(shape, block),
        params.density,
        qb,
        (kb) => gates[kb],
      );
      return keysOfBlocks(shape, block, chosen, row);
    },
    ambiguousRow({ shape, params, inputs }, head, row) {
      const block = params.blockSize;
      const qb = Math.floor(row / block);
      const scores = blockAttentionMap(shape, inputs, { pool: "max", block, head, qb });
      return boundaryNearTie(blockGeometry(shape, block), qb, {
        scores,
        keep: keepCount(scores.length, params.density),
        relativeGap: TIE_GAP,
      });
    },
    tieAlternatives({ shape, params, inputs }, head, row) {
      const block = params.blockSize;
      const qb = Math.floor(row / block);
      const scores = blockAttentionMap(shape, inputs, { pool: "max", block, head, qb });
      return blockTieAlternatives(blockGeometry(shape, block), qb, {
        scores,
        keep: keepCount(scores.length, params.density),
        relativeGap: TIE_GAP,
      }).map((chosen) => keysOfBlocks(shape, block, chosen, row));
    },
    nominalDensity: (_shape, params) => params.density,
    // The oracle gate works out every visible q·k (for the row log-sum-exp and the block maxima).
    scoredPairs: (shape) => shape.heads * densePairsPerHead(shape),
  },
});
