// NOSA: token selection split into a query-aware part (per query group, the key blocks whose mean
// key scores highest against the group's queries, InfLLM-V2 style, the init block always among
// them) and a query-agnostic part (per head, the keys of highest importance, shared by every row),
// plus the local window. Bounding the query-aware share is NOSA's locality constraint: most of
// what a decoding step selects was selected by the step before, so an offloaded KV cache moves
// little between host and device (see newKeysPerStep).
import { createStorage, uploadStorage } from "../../bench/gpu/buffers.ts";
import type { Pass } from "../../bench/gpu/passes.ts";
import {
  assertIterationBounds,
  type AttentionInputs,
  type AttentionProblem,
  type AttentionShape,
  blockRowGroups,
  compilePipeline,
  defineAttentionMethod,
  densePairsPerHead,
  float32Dot4,
  maskWords,
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
import {
  blockMeanWgsl,
  blockScoreWgsl,
  keyNormWgsl,
  NOSA_WORKGROUP,
  nosaIterations,
  selectBlocksWgsl,
} from "./nosa_kernel.ts";
import { evictionHead, headScores, headScoreWgsl } from "./nosa_head.ts";

// The CPU reference mirrors the kernels' float32 order of operations, so only scores within
// rounding of each other can resolve differently: block scores (dots, which a device may compute
// with fused multiply-adds) by a generous relative gap, key norms (sums only) by about an ulp.
const TIE_GAP = 1e-5;
const NORM_TIE_GAP = 1e-7;
// The trained head's scores are dots (fusable multiply-adds), so a wider relative gap.
const HEAD_TIE_GAP = 1e-4;
/** The trained variant's id: its query-agnostic part ranks keys by the fitted eviction head. */
const TRAINED_ID = "nosa-trained-attention";
// Group bitmaps of one query row each take heads × queries × seq / 8 bytes; above this the query
// groups are widened (doubling) so the masks buffer stays within a common storage-binding limit.
const MASK_BYTES_CAP = 128 * 1024 * 1024;

/** NOSA's parameters, as declared below. */
export type NosaParams = {
  /** Keys per row from both selection parts (the local window comes on top). */
  budget: number;
  /** Share of the budget chosen query-aware, in whole blocks. */
  queryAwareShare: number;
  /** Keys per block of the query-aware part. */
  blockSize: number;
  window: number;
  /** Query rows sharing one query-aware selection (1: every row, as NOSA decodes). */
  queryBlock: number;
};

/** Key blocks the query-aware part keeps per query group, the init block included. */
export function queryAwareBlocks(s: NosaParams): number {
  return Math.round((s.budget * s.queryAwareShare) / s.blockSize);
}

/** Keys the query-agnostic part keeps per head: the rest of the budget. */
export function agnosticKeys(s: NosaParams): number {
  return Math.max(0, s.budget - queryAwareBlocks(s) * s.blockSize);
}

/** Rows per query group actually used: `queryBlock`, doubled until the group bitmaps fit. */
export function effectiveQueryBlock(shape: AttentionShape, s: NosaParams): number {
  const bytes = (rows: number) =>
    (2 * shape.heads + shape.heads * Math.ceil(queryCount(shape) / rows)) * maskWords(shape.seq) *
    4;
  let rows = s.queryBlock;
  while (bytes(rows) > MASK_BYTES_CAP && rows < queryCount(shape)) rows *= 2;
  return rows;
}

/** Query groups per head, key blocks, and the key blocks group g can see. */
export function nosaGeometry(shape: AttentionShape, s: NosaParams) {
  const rows = effectiveQueryBlock(shape, s);
  const queries = queryCount(shape);
  const blocks = Math.ceil(shape.seq / s.blockSize);
  return {
    rows,
    groups: Math.ceil(queries / rows),
    blocks,
    visible(g: number): number {
      if (!shape.causal) return blocks;
      const last = queryOffset(shape) + Math.min((g + 1) * rows, queries) - 1;
      return Math.floor(last / s.blockSize) + 1;
    },
  };
}

/** Per head and key block, the mean key in float32, as the mean pass computes it. */
export function blockMeans(
  shape: AttentionShape,
  inputs: AttentionInputs,
  block: number,
): Float32Array {
  const { heads, seq, headDim: d } = shape;
  const f = Math.fround;
  const blocks = Math.ceil(seq / block);
  const means = new Float32Array(heads * blocks * d);
  for (let h = 0; h < heads; h++) {
    for (let b = 0; b < blocks; b++) {
      const first = b * block;
      const last = Math.min(first + block, seq);
      const inv = f(1 / (last - first));
      for (let i = 0; i < d; i++) {
        let sum = inputs.k[(h * seq + first) * d + i];
        for (let j = first + 1; j < last; j++) sum = f(sum + inputs.k[(h * seq + j) * d + i]);
        means[(h * blocks + b) * d + i] = f(sum * inv);
      }
    }
  }
  return means;
}

/** The query-aware scores of group g's visible blocks: the largest q · mean(k_block). */
export function groupBlockScores(
  problem: AttentionProblem<AttentionInputs, NosaParams>,
  at: { means: Float32Array; head: number; g: number },
): Float32Array {
  const { shape, inputs, params: s } = problem;
  const { means, head, g } = at;
  const geometry = nosaGeometry(shape, s);
  const d = shape.headDim;
  const queries = queryCount(shape);
  const scores = new Float32Array(geometry.visible(g));
  for (let kb = 0; kb < scores.length; kb++) {
    let best = -3.0e38;
    for (let row = g * geometry.rows; row < Math.min((g + 1) * geometry.rows, queries); row++) {
      const score = float32Dot4(inputs.q, means, {
        a: (head * queries + row) * d,
        b: (head * geometry.blocks + kb) * d,
        length: d,
      });
      best = Math.max(best, score);
    }
    scores[kb] = best;
  }
  return scores;
}

/** Block 0 (NOSA's init block) and the best-scoring others, ties to the lower block, ascending. */
export function chooseQueryAware(scores: ArrayLike<number>, keep: number): Int32Array {
  if (Math.min(keep, scores.length) <= 0) return new Int32Array();
  const others = topIndices(Array.from(scores).slice(1), keep - 1);
  return Int32Array.from([0, ...Array.from(others, (b) => b + 1)]);
}

/** The query-agnostic importance of every key of a head: ‖k_j‖₁ in float32, 4 lanes. */
export function keyImportance(shape: AttentionShape, inputs: AttentionInputs, head: number) {
  const d = shape.headDim;
  const f = Math.fround;
  return Float32Array.from({ length: shape.seq }, (_, j) => {
    const lanes = [0, 0, 0, 0];
    for (let i = 0; i < d; i++) {
      lanes[i % 4] = f(lanes[i % 4] + Math.abs(inputs.k[(head * shape.seq + j) * d + i]));
    }
    return f(f(f(lanes[0] + lanes[1]) + lanes[2]) + lanes[3]);
  });
}

interface Selection {
  blocksOf(head: number, g: number): { scores: Float32Array; chosen: Int32Array };
  agnostic(head: number): { scores: Float32Array; chosen: Int32Array };
  /** The relative score gap within which the query-agnostic ranking may differ across devices. */
  agnosticGap: number;
}

const cachedSelection = perInputCache<Selection>();

/** The CPU reference's selection for one input, computed per head and group on demand. */
function selectionOf(
  problem: AttentionProblem<AttentionInputs, NosaParams>,
  trained = false,
): Selection {
  const { shape, inputs, params: s } = problem;
  const key = [s.budget, s.queryAwareShare, s.blockSize, s.window, s.queryBlock, trained].join("|");
  const importance = (head: number) =>
    trained
      ? headScores(shape, inputs, { weights: evictionHead(problem, TRAINED_ID).weights, head })
        .scores
      : keyImportance(shape, inputs, head);
  return cachedSelection(inputs, `${JSON.stringify(shape)}|${key}`, () => {
    let means: Float32Array | null = null;
    const groups = new Map<string, { scores: Float32Array; chosen: Int32Array }>();
    const heads = new Map<number, { scores: Float32Array; chosen: Int32Array }>();
    return {
      blocksOf(head, g) {
        const key = `${head}|${g}`;
        let entry = groups.get(key);
        if (!entry) {
          means ??= blockMeans(shape, inputs, s.blockSize);
          const scores = groupBlockScores(problem, { means, head, g });
          entry = { scores, chosen: chooseQueryAware(scores, queryAwareBlocks(s)) };
          groups.set(key, entry);
        }
        return entry;
      },
      agnostic(head) {
        let entry = heads.get(head);
        if (!entry) {
          const scores = importance(head);
          entry = { scores, chosen: topIndices(scores, agnosticKeys(s)) };
          heads.set(head, entry);
        }
        return entry;
      },
      agnosticGap: trained ? HEAD_TIE_GAP : NORM_TIE_GAP,
    };
  });
}

/** The CPU reference: the union of the row's query-aware blocks, its head's tokens and the window. */
export function nosaKeys(
  problem: AttentionProblem<AttentionInputs, NosaParams>,
  head: number,
  row: number,
  trained = false,
): Int32Array {
  const { shape, params: s } = problem;
  const selection = selectionOf(problem, trained);
  const g = Math.floor(row / nosaGeometry(shape, s).rows);
  const group: number[] = [];
  for (const b of selection.blocksOf(head, g).chosen) {
    for (let j = b * s.blockSize; j < Math.min((b + 1) * s.blockSize, shape.seq); j++) {
      group.push(j);
    }
  }
  return selectedKeys(shape, row, {
    columns: selection.agnostic(head).chosen,
    group,
    window: s.window,
  });
}

/**
 * Keys a decoding step newly needs on the device, averaged over heads and adjacent query rows
 * (successive steps): |S_{r+1} \ S_r|. With the KV cache offloaded to host memory, each such key
 * moves its k and v: {@link kvBytesPerStep}.
 */
export function newKeysPerStep(
  shape: AttentionShape,
  keysOf: (head: number, row: number) => Int32Array,
): number {
  const queries = queryCount(shape);
  if (queries < 2) return 0;
  let fresh = 0;
  for (let head = 0; head < shape.heads; head++) {
    let previous = new Set(keysOf(head, 0));
    for (let row = 1; row < queries; row++) {
      const keys = keysOf(head, row);
      for (const j of keys) if (!previous.has(j)) fresh++;
      previous = new Set(keys);
    }
  }
  return fresh / (shape.heads * (queries - 1));
}

/** Host-to-device bytes per decoding step and head: new keys × (k and v) × headDim × float32. */
export function kvBytesPerStep(shape: AttentionShape, newKeys: number): number {
  return newKeys * 2 * shape.headDim * 4;
}

/** What tells NOSA's two variants apart: their names, labels and query-agnostic scorer. */
export interface NosaVariant {
  id: string;
  title: string;
  fidelity: { level: "faithful" | "simplified" | "stand-in"; reason: string };
  version: string;
  description: string;
  notes: string;
  /** Rank the query-agnostic keys by the eviction head fitted on held-out inputs, not ‖k‖₁. */
  trained: boolean;
}

export function defineNosa(variant: NosaVariant) {
  const { trained } = variant;
  return defineAttentionMethod({
    id: variant.id,
    family: "attention",
    title: variant.title,
    fidelity: variant.fidelity,
    description: variant.description,
    paper: {
      title: "NOSA: Native and Offloadable Sparse Attention",
      year: 2025,
      link: "https://arxiv.org/abs/2510.13602",
    },
    version: variant.version,
    parameters: {
      budget: {
        type: "int",
        description: "keys per query from both selection parts (the local window comes on top)",
        default: 256,
        min: 0,
        max: 65536,
        sweep: [128, 256, 512],
      },
      queryAwareShare: {
        type: "number",
        description: "share of the budget chosen per query (whole blocks); the rest is per head",
        default: 0.5,
        min: 0,
        max: 1,
        sweep: [0.5],
      },
      blockSize: {
        type: "int",
        description: "keys per block of the query-aware part",
        default: 32,
        min: 4,
        max: 1024,
        sweep: [32],
      },
      window: {
        type: "int",
        description: "most recent keys every query attends to, itself included",
        default: 64,
        min: 0,
        max: 65536,
        sweep: [64],
      },
      queryBlock: {
        type: "int",
        description:
          "query rows sharing one query-aware selection (max of their scores); 1 selects per query",
        default: 1,
        min: 1,
        max: 1024,
        sweep: [1],
      },
    },
    capabilities: { requires: ["webgpu"], features: ["causal", "non-causal"] },
    notes: variant.notes,
    impl: {
      budgetKnob: { param: "budget", direction: "increasing" },
      async setup(gpu, problem) {
        const { shape, inputs, params } = problem;
        const geometry = nosaGeometry(shape, params);
        // Trained at setup, outside timing (or already, by the CPU reference or another budget).
        const head = trained ? evictionHead(problem, variant.id) : null;
        const { heads, seq, headDim: d } = shape;
        const groups = geometry.groups;
        const qaBlocks = queryAwareBlocks(params);
        const agnostic = agnosticKeys(params);
        const kernel = await setupKeyMasks(gpu, {
          shape,
          inputs,
          groups: heads * groups,
          rowGroups: blockRowGroups(shape, geometry.rows),
          window: params.window,
          async build({ gpu, uniforms, masks, layout, bind, topkPass }) {
            assertIterationBounds(nosaIterations(d, {
              block: params.blockSize,
              blocks: geometry.blocks,
              rows: geometry.rows,
              qaBlocks,
            }));
            const { device } = gpu;
            const nosa = device.createBuffer({
              size: 32,
              usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
            });
            const view = new DataView(new ArrayBuffer(32));
            [params.blockSize, geometry.blocks, geometry.rows, groups, qaBlocks].forEach((x, i) =>
              view.setUint32(i * 4, x, true)
            );
            view.setFloat32(20, 1 / params.blockSize, true);
            view.setFloat32(24, 1 / (seq - (geometry.blocks - 1) * params.blockSize), true);
            device.queue.writeBuffer(nosa, 0, view.buffer);
            const kmean = createStorage(device, heads * geometry.blocks * d * 4, "nosa-kmean");
            const scores = createStorage(
              device,
              heads * groups * geometry.blocks * 4,
              "nosa-scores",
            );
            const norms = createStorage(device, heads * seq * 4, "nosa-key-norms");
            const keeps = uploadStorage(
              device,
              new Uint32Array(heads).fill(agnostic),
              "nosa-keeps",
            );
            const [mean, score, select, norm, topk] = await Promise.all([
              compilePipeline(device, blockMeanWgsl(d), "nosa-block-mean"),
              compilePipeline(device, blockScoreWgsl(d), "nosa-block-scores"),
              compilePipeline(device, selectBlocksWgsl(), "nosa-select-blocks"),
              head
                ? compilePipeline(device, headScoreWgsl(d, NOSA_WORKGROUP), "nosa-eviction-head")
                : compilePipeline(device, keyNormWgsl(d), "nosa-key-norms"),
              topkPass({
                scores: norms,
                keeps,
                segments: heads,
                len: seq,
                stride: seq,
                section: layout.headAt(0),
              }),
            ]);
            let scoredPairs = 0;
            for (let g = 0; g < groups; g++) {
              const rows = Math.min((g + 1) * geometry.rows, queryCount(shape)) - g * geometry.rows;
              scoredPairs += rows * geometry.visible(g);
            }
            const headWeights = head
              ? uploadStorage(device, head.weights, "nosa-head-weights")
              : null;
            const bindNorm = () =>
              headWeights
                ? bind(norm.pipeline, [inputs.k, inputs.v, headWeights, norms, uniforms])
                : bind(norm.pipeline, [inputs.k, norms, uniforms]);
            const passes: Pass[] = [];
            if (qaBlocks > 0) {
              passes.push(
                [mean.pipeline, bind(mean.pipeline, [inputs.k, kmean, uniforms, nosa]), [
                  Math.ceil(geometry.blocks / NOSA_WORKGROUP),
                  heads,
                  1,
                ]],
                [score.pipeline, bind(score.pipeline, [inputs.q, kmean, scores, uniforms, nosa]), [
                  Math.ceil(geometry.blocks / NOSA_WORKGROUP),
                  groups,
                  heads,
                ]],
                [select.pipeline, bind(select.pipeline, [scores, masks, uniforms, nosa]), [
                  Math.ceil(groups / NOSA_WORKGROUP),
                  heads,
                  1,
                ]],
              );
            }
            if (agnostic > 0) {
              passes.push(
                [norm.pipeline, bindNorm(), [
                  Math.ceil(seq / NOSA_WORKGROUP),
                  heads,
                  1,
                ]],
                ...topk.passes,
              );
            }
            return {
              passes,
              compileMs: mean.compileMs + score.compileMs + select.compileMs + norm.compileMs +
                topk.compileMs,
              buffers: [
                nosa,
                kmean,
                scores,
                norms,
                keeps,
                ...topk.buffers,
                ...(headWeights ? [headWeights] : []),
              ],
              // Block means (1 per key element), q · mean(k_block) per scored (row, block) pair,
              // key norms (2 per key element); the selections' comparisons are not counted.
              extraFlops: heads * (seq * d * (qaBlocks > 0 ? 1 : 0) +
                (qaBlocks > 0 ? scoredPairs * 2 * d : 0) +
                (agnostic > 0 ? (head ? 4 * seq * d : 2 * seq * d) : 0)),
            };
          },
        });
        // The head's training is its own figure (calibration_ms), outside timing and compile.
        if (head) kernel.calibration = head.record;
        return kernel;
      },
      selectKeys: (problem, head, row) => nosaKeys(problem, head, row, trained),
      ambiguousRow(problem, head, row) {
        const { shape, params } = problem;
        const selection = selectionOf(problem, trained);
        const g = Math.floor(row / nosaGeometry(shape, params).rows);
        const blockScores = queryAwareBlocks(params) > 0
          ? Array.from(selection.blocksOf(head, g).scores).slice(1)
          : [];
        return topBoundaryIsNearTie(blockScores, queryAwareBlocks(params) - 1, TIE_GAP) ||
          topBoundaryIsNearTie(
            selection.agnostic(head).scores,
            agnosticKeys(params),
            selection.agnosticGap,
          );
      },
      tieAlternatives(problem, head, row) {
        const { shape, params } = problem;
        const selection = selectionOf(problem, trained);
        const g = Math.floor(row / nosaGeometry(shape, params).rows);
        const blocks = selection.blocksOf(head, g);
        const agnostic = selection.agnostic(head);
        const keysOf = (chosenBlocks: ArrayLike<number>, columns: ArrayLike<number>) => {
          const group: number[] = [];
          for (const b of Array.from(chosenBlocks)) {
            for (
              let j = b * params.blockSize;
              j < Math.min((b + 1) * params.blockSize, shape.seq);
              j++
            ) {
              group.push(j);
            }
          }
          return selectedKeys(shape, row, { columns, group, window: params.window });
        };
        // One near-tie broken the other way at a time: a query-aware block (block 0 is always
        // kept) or a query-agnostic key.
        const blockSwaps = queryAwareBlocks(params) > 0
          ? topIndicesAlternatives(blocks.scores.slice(1), queryAwareBlocks(params) - 1, TIE_GAP)
            .map((others) => [0, ...Array.from(others, (b) => b + 1)])
          : [];
        return otherSelections(keysOf(blocks.chosen, agnostic.chosen), [
          ...blockSwaps.map((chosen) => keysOf(chosen, agnostic.chosen)),
          ...topIndicesAlternatives(agnostic.scores, agnosticKeys(params), selection.agnosticGap)
            .map((columns) => keysOf(blocks.chosen, columns)),
        ]);
      },
      nominalDensity(shape, params) {
        let pairs = 0;
        for (let row = 0; row < queryCount(shape); row++) {
          const visible = shape.causal ? queryOffset(shape) + row + 1 : shape.seq;
          pairs += Math.min(visible, params.budget + params.window);
        }
        return pairs / densePairsPerHead(shape);
      },
    },
  });
}

export const nosaAttention = defineNosa({
  id: "nosa-attention",
  title: "NOSA (‖k‖₁ stand-in)",
  fidelity: {
    level: "stand-in",
    reason:
      "NOSA's trained query-agnostic eviction head is replaced by the key's L1 norm ‖k‖₁; the query-aware block part follows InfLLM-V2",
  },
  version: "1.0.0",
  description:
    "Per query, the init block and the key blocks whose mean key scores highest (a `queryAwareShare` of the `budget`), plus per head the `budget` remainder of keys with the largest L1 norm, shared by all rows, plus the local window; the fixed query-agnostic share keeps adjacent decoding steps' selections alike, which is what makes an offloaded KV cache cheap.",
  notes:
    "Training-free inference form. The query-aware part scores blocks as InfLLM-V2's stage 1 does, by q · mean(k_block) (NOSA averages overlapping 32-key windows with stride 16 and max-pools them to 64-key blocks; here blocks do not overlap, 32 keys by default), per query (queryBlock 1), the init block always kept. NOSA's query-agnostic score is a trained eviction head on the values (A·softplus(v·δ)); without trained weights the key's L1 norm ‖k‖₁ stands in (sums only, so every device ranks keys alike; on the synthetic heads sinks carry a large extra key component, so it favours them; in trained models key norm is only loosely tied to importance, and with unit-norm keys, as in needle-retrieval, L1 norm says little), selected per token and per head rather than per block. NOSA also adds that score as a bias to the attention logits; here attention over the selected keys is plain softmax (the reference every kernel is checked against). The query-agnostic keys are chosen among all keys of the head, so early causal prefill rows see fewer of them. The offloading itself (NOSI's host-resident cache) is not simulated: newKeysPerStep/kvBytesPerStep count the keys and bytes adjacent decoding steps would move. Where the per-query bitmaps would pass 128 MiB (heads × queries × seq / 8 bytes, e.g. 8 heads at seq 16384) queries are grouped in pairs, fours, … instead. Every row still scans its whole bitmap (seq / 32 words) in the attend pass, and scoring costs about 1/blockSize of dense q·k per query, so at small budgets the speed-up falls short of the density. In causal prefill it realizes only about a third of its FLOPs reduction (seq 8192, budget 410: ×3.9 at a FLOPs ratio of 0.087) because the per-query bitmaps (seq / 8 bytes a row, 64 MiB for 8 heads at 8192) are cleared, written and scanned every computation — memory traffic a FLOPs count does not see; decoding, with few query rows, does not pay it (×5.5–7.2 at seq 8192, 16 steps).",
  trained: false,
});
