// Dynamic Mask Attention (DMA): a content-aware mask computed from the values (per head, one
// importance per key; the `keep` most important keys are attended by every row) plus the local
// window, with masked positions skipped in the attend pass rather than computed and discarded.
import { createStorage, uploadStorage } from "../../bench/gpu/buffers.ts";
import { mulberry32, normal } from "../../bench/random.ts";
import { trainedProjection } from "./dynamic_mask_head.ts";
import {
  assertIterationBound,
  type AttentionInputs,
  type AttentionProblem,
  type AttentionShape,
  compilePipeline,
  defineAttentionMethod,
  densePairsPerHead,
  float32Dot4,
  otherSelections,
  perInputCache,
  queryCount,
  queryOffset,
  selectedKeys,
  setupKeyMasks,
  topBoundaryIsNearTie,
  topIndices,
  topIndicesAlternatives,
} from "../../bench/families/attention/mod.ts";
import { DMA_WORKGROUP, valueScoreIterations, valueScoreWgsl } from "./dynamic_mask_kernel.ts";

// The CPU scores mirror the kernel's float32 order of operations; this relative gap only guards
// against a device that rounds differently.
const TIE_GAP = 1e-5;
const WEIGHT_SEED = 0xd3a;

/**
 * The fixed stand-in for DMA's learned value projection: per head a direction w_h ~ N(0, I/d),
 * seeded by head and head dimension only (so the CPU reference and the kernel agree).
 */
export function valueProjection(heads: number, headDim: number): Float32Array {
  const w = new Float32Array(heads * headDim);
  for (let h = 0; h < heads; h++) {
    const gauss = normal(mulberry32(WEIGHT_SEED ^ Math.imul(h + 1, 0x9e3779b1) ^ headDim));
    for (let i = 0; i < headDim; i++) w[h * headDim + i] = gauss() / Math.sqrt(headDim);
  }
  return w;
}

/** Per key of a head, its importance v_j · w_h in float32, as the kernel computes it. */
export function valueScores(
  shape: AttentionShape,
  inputs: AttentionInputs,
  head: number,
  projection: Float32Array = valueProjection(head + 1, shape.headDim),
): Float32Array {
  const d = shape.headDim;
  const w = projection;
  return Float32Array.from(
    { length: shape.seq },
    (_, j) => float32Dot4(inputs.v, w, { a: (head * shape.seq + j) * d, b: head * d, length: d }),
  );
}

const cachedScores = perInputCache<Float32Array>();

/** The projection the problem's variant ranks by: the fitted one, or the seeded stand-in. */
function projectionOf(problem: DmaProblem, trained: boolean): Float32Array {
  return trained
    ? trainedProjection(problem, TRAINED_ID).weights
    : valueProjection(problem.shape.heads, problem.shape.headDim);
}

function scoresOf(problem: DmaProblem, head: number, trained = false): Float32Array {
  const { shape, inputs } = problem;
  return cachedScores(
    inputs,
    `${JSON.stringify(shape)}|${head}|${trained}`,
    () => valueScores(shape, inputs, head, projectionOf(problem, trained)),
  );
}

/** Keys per head the value-derived mask keeps, and the local window. */
export type DynamicMaskParams = { keep: number; window: number };

type DmaProblem = AttentionProblem<AttentionInputs, DynamicMaskParams>;

/** The trained variant's id: its value projection is fitted on held-out inputs. */
const TRAINED_ID = "dynamic-mask-trained-attention";

// The head's kept columns are the same for every row: ranked once, not once per row (a check
// input of 2 × 2177 rows spent 14 s ranking).
const cachedColumns = perInputCache<Int32Array>();

/** The CPU reference: the head's `keep` best-scoring keys and the row's window. */
export function dynamicMaskKeys(
  problem: DmaProblem,
  head: number,
  row: number,
  trained = false,
): Int32Array {
  const { shape, inputs, params } = problem;
  const columns = cachedColumns(
    inputs,
    `${JSON.stringify(shape)}|${head}|${params.keep}|${trained}`,
    () => topIndices(scoresOf(problem, head, trained), params.keep),
  );
  return selectedKeys(shape, row, { columns, window: params.window });
}

/** What tells DMA's two variants apart: names, labels and where the projection comes from. */
export interface DmaVariant {
  id: string;
  title: string;
  fidelity: { level: "faithful" | "simplified" | "stand-in"; reason: string };
  version: string;
  description: string;
  notes: string;
  /** Rank by the projection fitted on held-out inputs, not the seeded random one. */
  trained: boolean;
}

export function defineDynamicMask(variant: DmaVariant) {
  const { trained } = variant;
  return defineAttentionMethod({
    id: variant.id,
    family: "attention",
    title: variant.title,
    fidelity: variant.fidelity,
    description: variant.description,
    paper: {
      title: "Trainable Dynamic Mask Sparse Attention",
      year: 2025,
      link: "https://arxiv.org/abs/2508.02124",
    },
    version: variant.version,
    parameters: {
      keep: {
        type: "int",
        description: "keys per head the value-derived mask keeps (DMA's keep_window_size)",
        default: 256,
        min: 0,
        max: 65536,
        sweep: [128, 256, 512],
      },
      window: {
        type: "int",
        description: "most recent keys every query attends to, itself included",
        default: 64,
        min: 0,
        max: 65536,
        sweep: [64],
      },
    },
    capabilities: { requires: ["webgpu"], features: ["causal", "non-causal"] },
    notes: variant.notes,
    impl: {
      budgetKnob: { param: "keep", direction: "increasing" },
      async setup(gpu, problem) {
        const { shape, inputs, params } = problem;
        const { heads, seq, headDim: d } = shape;
        // Fitted at setup, outside timing (or already, by the CPU reference or another budget).
        const fitted = trained ? trainedProjection(problem, variant.id) : null;
        const kernel = await setupKeyMasks(gpu, {
          shape,
          inputs,
          // One empty group bitmap every row points at: DMA's mask is per head.
          groups: 1,
          rowGroups: new Uint32Array(heads * queryCount(shape)),
          window: params.window,
          async build({ gpu, uniforms, layout, bind, topkPass }) {
            assertIterationBound("dma-value-scores", valueScoreIterations(shape.headDim));
            const { device } = gpu;
            const w = uploadStorage(
              device,
              fitted ? fitted.weights : valueProjection(heads, d),
              "dma-projection",
            );
            const scores = createStorage(device, heads * seq * 4, "dma-scores");
            const keeps = uploadStorage(
              device,
              new Uint32Array(heads).fill(params.keep),
              "dma-keeps",
            );
            const [score, topk] = await Promise.all([
              compilePipeline(device, valueScoreWgsl(d), "dma-value-scores"),
              topkPass({
                scores,
                keeps,
                segments: heads,
                len: seq,
                stride: seq,
                section: layout.headAt(0),
              }),
            ]);
            return {
              passes: params.keep > 0
                ? [
                  [score.pipeline, bind(score.pipeline, [inputs.v, w, scores, uniforms]), [
                    Math.ceil(seq / DMA_WORKGROUP),
                    heads,
                    1,
                  ]],
                  ...topk.passes,
                ]
                : [],
              compileMs: score.compileMs + topk.compileMs,
              buffers: [w, scores, keeps, ...topk.buffers],
              // One projection of every value (the top-k's comparisons are not counted).
              extraFlops: params.keep > 0 ? heads * seq * 2 * d : 0,
            };
          },
        });
        // The fit is its own figure (calibration_ms), outside timing and compile.
        if (fitted) kernel.calibration = fitted.record;
        return kernel;
      },
      selectKeys: (problem, head, row) => dynamicMaskKeys(problem, head, row, trained),
      ambiguousRow: (problem, head) =>
        topBoundaryIsNearTie(scoresOf(problem, head, trained), problem.params.keep, TIE_GAP),
      tieAlternatives: (problem, head, row) =>
        otherSelections(
          dynamicMaskKeys(problem, head, row, trained),
          topIndicesAlternatives(
            scoresOf(problem, head, trained),
            problem.params.keep,
            TIE_GAP,
          ).map((columns) =>
            selectedKeys(problem.shape, row, { columns, window: problem.params.window })
          ),
        ),
      nominalDensity(shape, params) {
        let pairs = 0;
        for (let row = 0; row < queryCount(shape); row++) {
          const visible = shape.causal ? queryOffset(shape) + row + 1 : shape.seq;
          pairs += Math.min(visible, params.keep + params.window);
        }
        return pairs / densePairsPerHead(shape);
      },
    },
  });
}

export const dynamicMaskAttention = defineDynamicMask({
  id: "dynamic-mask-attention",
  title: "Dynamic Mask Attention (random value projection stand-in)",
  fidelity: {
    level: "stand-in",
    reason:
      "DMA's learned value projection W_Δ is replaced by a fixed seeded random direction per head, so its mask keeps arbitrary keys",
  },
  version: "1.0.0",
  description:
    "Per head, an importance for every key computed from its value alone; every row attends to the `keep` most important keys plus its `window` most recent ones, and the attend pass skips the rest.",
  notes:
    "Training-free inference form. DMA scores each key as exp(A·softplus(v·W_Δ)) with a learned projection W_Δ and scale A; for A > 0 that ranks keys exactly as v·W_Δ does, so this implementation ranks by v_j · w_h with w_h a fixed seeded N(0, I/d) direction per head in place of the trained weights (and per head only, where DMA projects all heads' values). With untrained weights the mask is content-aware in form but not in effect: on the synthetic tasks, whose values are noise independent of where attention goes, it keeps an arbitrary set of keys, and expected quality is that of the window plus random keys. DMA also adds the score to the attention logits as a bias; here attention over the selected keys is plain softmax (the reference every kernel is checked against). DMA takes the top keys per query row among the keys it may see; here they are taken per head among all keys and shared by every row (identical for decoding rows, fewer for early causal prefill rows). The local window is an addition for causal locality. Every row scans its whole bitmap (seq / 32 words) in the attend pass, so at small budgets the speed-up falls short of the density.",
  trained: false,
});
