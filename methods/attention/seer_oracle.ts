// SeerAttention with its training-free oracle gate: blocks of the attention map are kept where
// their largest true attention probability is highest. SeerAttention learns a gate that predicts
// this from pooled q and k; the oracle is the target that gate is distilled towards, so it shows
// the best a learned block gate can do, at more than dense cost.
import { compileCompute, createStorage } from "../../bench/gpu/buffers.ts";
import { defineMethod } from "../../bench/metadata.ts";
import {
  BLOCK_WORKGROUP,
  blockGeometry,
  type BlockSettings,
  blockSettings,
  blockSparseParameters,
  chooseBlocksFor,
  keysOfBlocks,
  perInputCache,
  setupBlockSparse,
} from "./block_sparse.ts";
import { blockBudget } from "./block_topk_kernel.ts";
import {
  attentionFlops,
  type AttentionInputs,
  type AttentionMethod,
  type AttentionShape,
  densePairsPerHead,
  queryCount,
} from "./interface.ts";
import { attendRow, denseKeys } from "./reference.ts";
import { blockGateWgsl, rowLseWgsl, SEER_WORKGROUP } from "./seer_oracle_kernel.ts";

// Gates this close (relatively) to the last one kept are a near-tie float rounding may flip.
const TIE_GAP = 1e-4;

/**
 * The oracle gates of one query block, per visible key block, in float64: the largest dense
 * attention probability of any of its rows in that block.
 */
export function oracleGates(
  shape: AttentionShape,
  inputs: AttentionInputs,
  block: number,
  head: number,
  qb: number,
): Float64Array {
  const geometry = blockGeometry(shape, block);
  const gates = new Float64Array(geometry.visible(qb));
  for (let row = qb * block; row < Math.min((qb + 1) * block, queryCount(shape)); row++) {
    const { weights } = attendRow(inputs, shape, head, row, denseKeys(shape, row));
    weights.forEach((w, j) => {
      const kb = Math.floor(j / block);
      if (w > gates[kb]) gates[kb] = w;
    });
  }
  return gates;
}

// References are asked row by row, for a few sampled rows of long inputs: gates are computed per
// query block on demand (they cost a dense pass over the block's rows) and shared by all budgets.
const cachedGates = perInputCache<Float64Array>();

function gatesOf(
  shape: AttentionShape,
  inputs: AttentionInputs,
  s: BlockSettings,
  head: number,
  qb: number,
): Float64Array {
  return cachedGates(
    inputs,
    `${JSON.stringify(shape)}|${s.block}|${head}|${qb}`,
    () => oracleGates(shape, inputs, s.block, head, qb),
  );
}

function chosenBlocks(
  shape: AttentionShape,
  inputs: AttentionInputs,
  s: BlockSettings,
  head: number,
  qb: number,
): Int32Array {
  const gates = gatesOf(shape, inputs, s, head, qb);
  return chooseBlocksFor(blockGeometry(shape, s.block), s.density, qb, (kb) => gates[kb]);
}

/** Whether the budget's boundary in this query block falls on a near-tie of gates. */
function boundaryIsNearTie(
  shape: AttentionShape,
  inputs: AttentionInputs,
  s: BlockSettings,
  head: number,
  qb: number,
): boolean {
  const geometry = blockGeometry(shape, s.block);
  const gates = gatesOf(shape, inputs, s, head, qb);
  const others = [...gates].filter((_, kb) => kb !== geometry.own(qb)).sort((a, b) => b - a);
  const keep = blockBudget(gates.length, s.density) - 1;
  if (keep <= 0 || keep >= others.length) return false;
  return others[keep - 1] - others[keep] <= TIE_GAP * others[keep - 1];
}

export const seerOracleAttention = defineMethod<AttentionMethod>({
  id: "seer-oracle-attention",
  family: "attention",
  title: "SeerAttention, oracle gate",
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
    setup(gpu, shape, inputs, params) {
      const s = blockSettings(params);
      return setupBlockSparse(gpu, shape, inputs, s, {
        async build({ gpu, uniforms, scores, geometry, bind }) {
          const { device } = gpu;
          const lse = createStorage(device, shape.heads * queryCount(shape) * 4, "row-lse");
          const [lsePass, gatePass] = await Promise.all([
            compileCompute(device, rowLseWgsl(shape.headDim), "seer-row-lse"),
            compileCompute(device, blockGateWgsl(shape.headDim), "seer-oracle-gate"),
          ]);
          return {
            passes: [
              [lsePass.pipeline, bind(lsePass.pipeline, [inputs.q, inputs.k, lse, uniforms]), [
                Math.ceil(queryCount(shape) / SEER_WORKGROUP),
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
      });
    },
    selectKeys(shape, params, inputs, head, row) {
      const s = blockSettings(params);
      return keysOfBlocks(
        shape,
        s.block,
        chosenBlocks(shape, inputs, s, head, Math.floor(row / s.block)),
        row,
      );
    },
    ambiguousRow(shape, params, inputs, head, row) {
      const s = blockSettings(params);
      return boundaryIsNearTie(shape, inputs, s, head, Math.floor(row / s.block));
    },
    nominalDensity: (_shape, params) => blockSettings(params).density,
  },
});
