// SeerAttention with its learned block gate: per head, pooled q and k are projected by a small
// learned gate, whose dot products rank the key blocks each query block attends to. The gate
// is distilled from the oracle gate (block max-pooled true attention) offline, on held-out
// inputs of the same model (the task's calibration inputs), never on the evaluated input.
import { createStorage } from "../../bench/gpu/buffers.ts";
import {
  assertIterationBounds,
  type AttentionInputs,
  type AttentionProblem,
  type AttentionShape,
  BLOCK_WORKGROUP,
  blockGeometry,
  blockSparseParameters,
  type CalibrationRecord,
  chooseBlocksFor,
  compilePipeline,
  defineAttentionMethod,
  heldOutInputs,
  keepCount,
  keysOfBlocks,
  nearTieSwaps,
  perInputCache,
  queryCount,
  setupBlockSparse,
} from "../../bench/families/attention/mod.ts";
import {
  type GateConfig,
  gateScores,
  type GateWeights,
  poolHead,
  trainGates,
} from "./seer_learned_gate.ts";
import {
  GATE_WORKGROUP,
  gateIterations,
  gateKeysWgsl,
  gateQueriesWgsl,
  gateScoreWgsl,
  gateWeightStride,
} from "./seer_learned_kernel.ts";

// Scores closer than this share of their magnitude (every term of the pooling, projection and
// dot chain taken in absolute value) to the last one kept are a near-tie that another device's
// summation order or fused multiply-adds may flip. On lavapipe the GPU scores measured bit-equal
// to the CPU's. Reordered float32 sums drift by about ε·√n·(typical term), far below ε·(sum of
// |terms|) = ε·magnitude with ε ≈ 6e-8, so 16 ε of the magnitude is generous; a larger share
// would excuse most rows of random inputs, where the magnitude is ~1000× the scores.
const TIE_GAP = 1e-6;

/** What the gate's training depends on, besides the calibration inputs. */
interface SeerConfig extends GateConfig {
  calibrationInputs: number;
}

function configKey(shape: AttentionShape, c: SeerConfig): string {
  return `${
    JSON.stringify(shape)
  }|${c.blockSize}|${c.gateDim}|${c.trainSteps}|${c.trainBlocks}|${c.calibrationInputs}`;
}

/** A trained gate: its weights per head and what training used and cost. */
interface TrainedGate {
  /** The calibration set's key and the config: names this gate. */
  key: string;
  weights: GateWeights[];
  record: CalibrationRecord;
}

// One gate per calibration set and config, shared by the GPU setup, the CPU reference and every
// density of a sweep: the gate is trained once, as the paper trains it once per model.
const trainedGates = new Map<string, TrainedGate>();

/**
 * The gate trained for a problem: on the first `calibrationInputs` held-out inputs of its
 * calibration set (never the evaluated input: `heldOutInputs` refuses a set that holds it).
 *
 * @throws {Error} when the calibration set holds the evaluated input or too few inputs
 */
export function seerGate<I>(problem: AttentionProblem<I, SeerConfig>): TrainedGate {
  const { shape, params } = problem;
  const set = heldOutInputs(problem, params.calibrationInputs, "seer-learned-attention");
  const key = `${set.key}|${configKey(shape, params)}`;
  let gate = trainedGates.get(key);
  if (!gate) {
    const inputs = set.ids.map((_, i) => set.input(i));
    const made = performance.now();
    const { weights } = trainGates(shape, inputs, params);
    gate = {
      key,
      weights,
      // The task's making of the inputs is not the method's cost: only the training is timed.
      record: {
        inputs: inputs.length,
        ms: performance.now() - made,
        ids: set.ids,
        heldOut: set.heldOut,
      },
    };
    trainedGates.set(key, gate);
  }
  return gate;
}

/** The CPU reference's view of one input: every head's gate scores under the trained gate. */
interface GateState {
  scores: Float64Array[][];
  magnitude: Float64Array[][];
}

// The reference is asked row by row: the gate is scored once per input, gate and config.
const cachedState = perInputCache<GateState>();

function gateState(problem: AttentionProblem<AttentionInputs, SeerConfig>): GateState {
  const { shape, inputs, params: c } = problem;
  const gate = seerGate(problem);
  return cachedState(inputs, gate.key, () => {
    const geometry = blockGeometry(shape, c.blockSize);
    const perHead = gate.weights.map((w, h) =>
      gateScores(shape, {
        pooled: poolHead(shape, inputs, c.blockSize, h),
        weights: w,
        geometry,
        gateDim: c.gateDim,
      })
    );
    return {
      scores: perHead.map((x) => x.scores),
      magnitude: perHead.map((x) => x.magnitude),
    };
  });
}

/** Whether the budget's boundary in this query block falls on a near-tie of gate scores. */
function boundaryIsNearTie(
  shape: AttentionShape,
  state: GateState,
  at: { density: number; block: number; head: number; qb: number },
): boolean {
  const { density, block, head, qb } = at;
  const geometry = blockGeometry(shape, block);
  const scores = state.scores[head][qb];
  const magnitude = state.magnitude[head][qb];
  const others = [...scores.keys()].filter((kb) => kb !== geometry.own(qb))
    .sort((a, b) => scores[b] - scores[a] || a - b);
  const keep = keepCount(scores.length, density) - 1;
  if (keep <= 0 || keep >= others.length) return false;
  const [inside, outside] = [others[keep - 1], others[keep]];
  return scores[inside] - scores[outside] <=
    TIE_GAP * Math.max(magnitude[inside], magnitude[outside]);
}

export const seerLearnedAttention = defineAttentionMethod({
  id: "seer-learned-attention",
  family: "attention",
  title: "SeerAttention, learned gate",
  fidelity: {
    level: "simplified",
    reason:
      "SeerAttention's gate and distillation target, trained offline on 4 held-out inputs of the same model (not a text corpus), as the paper trains once per model; no RoPE or bias",
  },
  description:
    "A learned gate per head (linear projections of average-pooled q and of max/min/average-pooled k, scored by their dot product) picks, per query block, its own block and the highest-scoring key blocks up to `density`; it is distilled from the block max-pooled true attention map.",
  paper: {
    title: "SeerAttention: Learning Intrinsic Sparse Attention in Your LLMs",
    year: 2024,
    link: "https://arxiv.org/abs/2410.13276",
  },
  // 2.0.0: the gate is trained on held-out calibration inputs, not the evaluated input.
  version: "2.0.0",
  parameters: {
    ...blockSparseParameters([64]),
    gateDim: {
      type: "int",
      description: "width of the gate's q and k projections",
      default: 32,
      min: 1,
      max: 256,
      sweep: [32],
    },
    trainSteps: {
      type: "int",
      description: "full-batch Adam steps of the gate's distillation",
      default: 100,
      min: 0,
      max: 10000,
      sweep: [100],
    },
    trainBlocks: {
      type: "int",
      description: "query blocks per head and calibration input sampled as distillation data",
      default: 8,
      min: 1,
      max: 4096,
      sweep: [8],
    },
    calibrationInputs: {
      type: "int",
      description:
        "held-out inputs of the same model (never the evaluated one) the gate is distilled on",
      default: 4,
      min: 1,
      max: 8,
      sweep: [4],
    },
  },
  capabilities: { requires: ["webgpu"], features: ["causal", "non-causal"] },
  notes:
    "The gate is trained offline, once per model: on `calibrationInputs` (4) held-out inputs the task hands over (other prompts to the same model: for the synthetic tasks the same model seed and other input seeds; never the evaluated input, which the family refuses), at setup, outside the timed region; its wall time is the cell's `calibration_ms`, apart from compile time. Per calibration input, a seeded sample of `trainBlocks` (8) query blocks per head, whose oracle block maps (block max-pooled dense attention, normalised per query block, in float64) are the distillation targets, then `trainSteps` full-batch Adam steps on the mean KL divergence over all of them, in plain TypeScript on the CPU. The GPU setup and the CPU reference share the one trained gate (no read-back of the evaluated input); the reference only scores the evaluated input's pooled q and k with it. The paper trains the gate once per model on a text corpus; here the corpus is the task's held-out prompts, which share the heads' sink and far-token directions and strengths but not the prompt's content (far-token positions, the drifting context). Version 1.0.0 trained on the evaluated input itself (optimistic: ~12.5% of scored rows fell in its training blocks). Simplified: no RoPE on the pooled q and k (the synthetic inputs have none), no bias terms, and the gate's softmax is skipped at inference (ranking by its logits keeps the same blocks). The query block's own (diagonal) block is always kept. Timed work is the gate's pooling, projection and scoring passes plus block-sparse attention; the gate costs a small share of dense FLOPs, so the speed-up follows the attended density, as for the other block-sparse methods. Finding (attention-fidelity 3.0.0, seq 2048, 8 heads, run 20261202T062935Z-edace2; CPU ablation on the same inputs): trained on held-out prompts the gate barely beats one trained on seeded random inputs, while training on the evaluated input (1.0.0) looked much better — rel. L2 error at matched density 0.115: 0.688 [0.614–0.754] held-out, 0.700 [0.628–0.767] random, 0.517 [0.437–0.594] on the evaluated input; at 0.22: 0.623, 0.689, 0.395. So 1.0.0's figures were mostly the gate memorising its own input's far tokens and context; what transfers across prompts of these synthetic heads at block granularity (sinks, locality) is little more than the own block and the first block give. The paper's claim that a learned gate beats heuristic selection does not reproduce here (on the same inputs at 0.1, CPU reference: sink + window 0.216 [0.137–0.288]; the training-free Quest-style block top-k 0.696, level with the held-out gate). Calibration cost (4 inputs, seq 2048, 8 heads, one training shared by every density of the run): 17.9 s wall, on 2 cores under load 5–11. On real heads (attention-sotu-trace, sotu-lm's q, k, v on 8 test-year windows, gate trained on 4 sets of training-year windows: 15.5 s at block 16; run 20261202T070316Z-60d295) the held-out gate matches the oracle gate it imitates: at block 16 and density 0.25 (2 of up to 8 blocks, 0.225 of keys) rel. L2 0.709 [0.677–0.740] vs the oracle's 0.711 [0.679–0.741] and Quest-style block top-k's 0.707, mass recall 0.457 vs 0.459: these 128-key heads attend diffusely, so any two blocks keep under half the mass; at block 64 every block method keeps only its own block there. Tasks without held-out inputs of the same model (needle retrieval) give none: the gate then trains on seeded random inputs and learns nothing of the model (`calibration_held_out` 0 says so); associative recall and the sotu-lm trace task give theirs.",
  impl: {
    budgetKnob: { param: "density", direction: "increasing" },
    async setup(gpu, { shape, inputs, params, calibration }) {
      // Trained at setup, outside timing (or already, by the CPU reference or another density).
      const gate = seerGate({ shape, inputs, params, calibration });
      const weights = gate.weights;
      const stride = gateWeightStride(shape.headDim, params.gateDim);
      const packed = new Float32Array(shape.heads * stride);
      weights.forEach((w, h) => {
        packed.set(w.wq, h * stride);
        packed.set(w.wk, h * stride + w.wq.length);
      });
      const kernel = await setupBlockSparse(gpu, {
        shape,
        inputs,
        block: params.blockSize,
        density: params.density,
        scoring: {
          async build({ gpu, uniforms, scores, geometry, bind }) {
            assertIterationBounds(
              gateIterations(shape.headDim, { block: params.blockSize, gateDim: params.gateDim }),
            );
            const { device } = gpu;
            const weightBuffer = createStorage(device, packed.byteLength, "seer-gate-weights");
            device.queue.writeBuffer(weightBuffer, 0, packed);
            const kproj = createStorage(
              device,
              shape.heads * geometry.blocks * params.gateDim * 4,
              "seer-gate-kproj",
            );
            const qproj = createStorage(
              device,
              shape.heads * geometry.queryBlocks * params.gateDim * 4,
              "seer-gate-qproj",
            );
            const [keys, queries, score] = await Promise.all([
              compilePipeline(
                device,
                gateKeysWgsl(shape.headDim, params.gateDim),
                "seer-gate-keys",
              ),
              compilePipeline(
                device,
                gateQueriesWgsl(shape.headDim, params.gateDim),
                "seer-gate-queries",
              ),
              compilePipeline(
                device,
                gateScoreWgsl(shape.headDim, params.gateDim),
                "seer-gate-scores",
              ),
            ]);
            let visiblePairs = 0;
            for (let qb = 0; qb < geometry.queryBlocks; qb++) visiblePairs += geometry.visible(qb);
            const d = shape.headDim;
            return {
              passes: [
                [keys.pipeline, bind(keys.pipeline, [inputs.k, weightBuffer, kproj, uniforms]), [
                  Math.ceil(geometry.blocks / GATE_WORKGROUP),
                  shape.heads,
                  1,
                ]],
                [
                  queries.pipeline,
                  bind(queries.pipeline, [inputs.q, weightBuffer, qproj, uniforms]),
                  [Math.ceil(geometry.queryBlocks / GATE_WORKGROUP), shape.heads, 1],
                ],
                [score.pipeline, bind(score.pipeline, [qproj, kproj, scores, uniforms]), [
                  Math.ceil(geometry.blocks / BLOCK_WORKGROUP),
                  geometry.queryBlocks,
                  shape.heads,
                ]],
              ],
              compileMs: keys.compileMs + queries.compileMs + score.compileMs,
              buffers: [weightBuffer, kproj, qproj],
              // Pooling (3 per key element, 1 per query element), the projections (a multiply-add
              // per weight and pooled block) and one gateDim-long dot per visible block pair.
              extraFlops: shape.heads *
                (3 * shape.seq * d + queryCount(shape) * d +
                  2 * params.gateDim * (3 * d * geometry.blocks + d * geometry.queryBlocks) +
                  2 * params.gateDim * visiblePairs),
            };
          },
        },
      });
      // The calibration is its own figure (calibration_ms), outside timing and setup's compile.
      kernel.calibration = gate.record;
      return kernel;
    },
    selectKeys({ shape, params, inputs, calibration }, head, row) {
      const block = params.blockSize;
      const state = gateState({ shape, inputs, params, calibration });
      const qb = Math.floor(row / block);
      const chosen = chooseBlocksFor(
        blockGeometry(shape, block),
        params.density,
        qb,
        (kb) => state.scores[head][qb][kb],
      );
      return keysOfBlocks(shape, block, chosen, row);
    },
    ambiguousRow({ shape, params, inputs, calibration }, head, row) {
      const block = params.blockSize;
      const state = gateState({ shape, inputs, params, calibration });
      return boundaryIsNearTie(shape, state, {
        density: params.density,
        block,
        head,
        qb: Math.floor(row / block),
      });
    },
    tieAlternatives({ shape, params, inputs, calibration }, head, row) {
      const block = params.blockSize;
      const geometry = blockGeometry(shape, block);
      const qb = Math.floor(row / block);
      const state = gateState({ shape, inputs, params, calibration });
      const scores = state.scores[head][qb];
      const magnitude = state.magnitude[head][qb];
      // The own block plus the best others, as chooseBlocksFor ranks them; near-tie as
      // boundaryIsNearTie decides it, relative to the scores' magnitudes.
      const others = [...scores.keys()].filter((kb) => kb !== geometry.own(qb))
        .sort((a, b) => scores[b] - scores[a] || a - b);
      return nearTieSwaps(others, keepCount(scores.length, params.density) - 1, {
        near: (i, o) => scores[i] - scores[o] <= TIE_GAP * Math.max(magnitude[i], magnitude[o]),
      }).map((kept) =>
        keysOfBlocks(shape, block, Int32Array.from([geometry.own(qb), ...kept]).sort(), row)
      );
    },
    nominalDensity: (_shape, params) => params.density,
  },
});
