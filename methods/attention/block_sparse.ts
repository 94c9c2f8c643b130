// What block-sparse attention methods share: blocks of keys (and of query rows), a score per
// (query block, key block) that each method computes its own way, the selection of the query
// block's own block plus the best-scoring others up to a budget, and attention over the chosen
// blocks' keys. Both on the GPU (select and attend passes) and in the CPU reference.
import { compileCompute, createStorage } from "../../bench/gpu/buffers.ts";
import type { GpuContext } from "../../bench/gpu/device.ts";
import type { ParamSpecs, ParamValues } from "../../bench/metadata.ts";
import { attendWgsl, blockBudget, selectWgsl } from "./block_topk_kernel.ts";
import {
  type AttentionGpuInputs,
  type AttentionInputs,
  type AttentionKernel,
  type AttentionShape,
  queryCount,
  queryOffset,
} from "./interface.ts";

export const BLOCK_WORKGROUP = 64;

export interface BlockSettings {
  block: number;
  density: number;
}

/** The parameters every block-sparse method takes, with the block sizes it sweeps. */
export function blockSparseParameters(blockSweep: number[]): ParamSpecs {
  return {
    density: {
      type: "number",
      description: "share of the visible key blocks each query block keeps",
      default: 0.1,
      min: 0.001,
      max: 1,
      sweep: [0.05, 0.1, 0.2],
    },
    blockSize: {
      type: "int",
      description: "keys (and queries) per block",
      default: 64,
      min: 4,
      max: 1024,
      sweep: blockSweep,
    },
  };
}

export function blockSettings(params: ParamValues): BlockSettings {
  return { block: params.blockSize as number, density: params.density as number };
}

/** Key blocks, query blocks, and for each query block the key blocks it can see. */
export interface BlockGeometry {
  blocks: number;
  queryBlocks: number;
  /** The key block holding the query block's last position: always kept. */
  own(qb: number): number;
  visible(qb: number): number;
}

export function blockGeometry(shape: AttentionShape, block: number): BlockGeometry {
  const blocks = Math.ceil(shape.seq / block);
  const queries = queryCount(shape);
  const own = (qb: number) =>
    Math.floor((queryOffset(shape) + Math.min((qb + 1) * block, queries) - 1) / block);
  return {
    blocks,
    queryBlocks: Math.ceil(queries / block),
    own,
    visible: (qb) => (shape.causal ? own(qb) + 1 : blocks),
  };
}

/**
 * The CPU reference of one query block's selection, given the method's block scores: its own
 * block and the best-scoring others (ties to the lower block), ascending, exactly as the WGSL
 * select pass chooses.
 */
export function chooseBlocksFor(
  geometry: BlockGeometry,
  density: number,
  qb: number,
  score: (kb: number) => number,
): Int32Array {
  return chooseTopBlocks(geometry, blockBudget(geometry.visible(qb), density), qb, score);
}

/**
 * {@link chooseBlocksFor} with the number of blocks to keep given (at least the own block, at most
 * the visible ones), for methods whose budget is not a share of the visible blocks.
 */
export function chooseTopBlocks(
  geometry: BlockGeometry,
  keep: number,
  qb: number,
  score: (kb: number) => number,
): Int32Array {
  const visible = geometry.visible(qb);
  const row = Float64Array.from({ length: visible }, (_, kb) => score(kb));
  const taken = new Uint8Array(visible);
  taken[geometry.own(qb)] = 1;
  for (let n = 1; n < Math.min(visible, Math.max(1, keep)); n++) {
    let best = -1;
    for (let b = 0; b < visible; b++) if (!taken[b] && (best < 0 || row[b] > row[best])) best = b;
    taken[best] = 1;
  }
  return Int32Array.from([...taken.keys()].filter((b) => taken[b] === 1));
}

/** {@link chooseBlocksFor} for every query block. */
export function chooseBlocks(
  geometry: BlockGeometry,
  density: number,
  scores: (qb: number, kb: number) => number,
): Int32Array[] {
  return Array.from(
    { length: geometry.queryBlocks },
    (_, qb) => chooseBlocksFor(geometry, density, qb, (kb) => scores(qb, kb)),
  );
}

/** The keys of query row `row` given its query block's chosen key blocks, ascending. */
export function keysOfBlocks(
  shape: AttentionShape,
  block: number,
  chosen: Int32Array,
  row: number,
): Int32Array {
  const pos = queryOffset(shape) + row;
  const keys: number[] = [];
  for (const kb of chosen) {
    const last = Math.min((kb + 1) * block, shape.seq) - 1;
    for (let j = kb * block; j <= (shape.causal ? Math.min(last, pos) : last); j++) keys.push(j);
  }
  return Int32Array.from(keys);
}

/**
 * Caches a per-input computation (CPU references are asked row by row, the selection is made
 * once per input).
 */
export function perInputCache<T>(): (inputs: AttentionInputs, key: string, make: () => T) => T {
  const cache = new WeakMap<Float32Array, Map<string, T>>();
  return (inputs, key, make) => {
    let byKey = cache.get(inputs.q);
    if (!byKey) cache.set(inputs.q, byKey = new Map());
    let value = byKey.get(key);
    if (value === undefined) byKey.set(key, value = make());
    return value;
  };
}

/** A compute pass: pipeline, bind group and workgroup counts. */
export type Pass = [GPUComputePipeline, GPUBindGroup, [number, number, number]];

/** A bind group of `buffers` at bindings 0, 1, … of the pipeline's group 0. */
export function bindInOrder(
  device: GPUDevice,
  pipeline: GPUComputePipeline,
  buffers: GPUBuffer[],
): GPUBindGroup {
  return device.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: buffers.map((buffer, binding) => ({ binding, resource: { buffer } })),
  });
}

/** Records `passes` into `encoder`, one compute pass each, in order. */
export function encodePasses(encoder: GPUCommandEncoder, passes: Pass[]): void {
  for (const [pipeline, group, [x, y, z]] of passes) {
    const pass = encoder.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, group);
    pass.dispatchWorkgroups(x, y, z);
    pass.end();
  }
}

/** What a block-sparse method adds: the passes that fill `scores` (q_blocks × blocks per head). */
export interface BlockScoring {
  /** Compiles its pipelines and records its passes; returns their compile time. */
  build(context: {
    gpu: GpuContext;
    uniforms: GPUBuffer;
    scores: GPUBuffer;
    geometry: BlockGeometry;
    bind(pipeline: GPUComputePipeline, buffers: GPUBuffer[]): GPUBindGroup;
  }): Promise<{ passes: Pass[]; compileMs: number; buffers: GPUBuffer[]; extraFlops: number }>;
}

/** Sets up a block-sparse method: the method's scoring passes, then select and attend. */
export async function setupBlockSparse(
  gpu: GpuContext,
  shape: AttentionShape,
  inputs: AttentionGpuInputs,
  s: BlockSettings,
  scoring: BlockScoring,
): Promise<AttentionKernel> {
  const { device } = gpu;
  const geometry = blockGeometry(shape, s.block);
  const { blocks, queryBlocks } = geometry;
  const queries = queryCount(shape);
  const uniforms = device.createBuffer({
    size: 48,
    usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
  });
  const view = new DataView(new ArrayBuffer(48));
  [shape.seq, shape.heads, shape.causal ? 1 : 0, s.block, blocks].forEach((x, i) =>
    view.setUint32(i * 4, x, true)
  );
  view.setFloat32(20, s.density, true);
  view.setFloat32(24, 1 / Math.sqrt(shape.headDim), true);
  view.setUint32(28, blocks, true);
  view.setUint32(32, queries, true);
  view.setUint32(36, queryBlocks, true);
  device.queue.writeBuffer(uniforms, 0, view.buffer);
  const scores = createStorage(device, shape.heads * queryBlocks * blocks * 4, "block-scores");
  const chosen = createStorage(device, shape.heads * queryBlocks * blocks * 4, "chosen-blocks");
  const chosenCount = createStorage(device, shape.heads * queryBlocks * 4, "chosen-count");
  const output = createStorage(
    device,
    shape.heads * queries * shape.headDim * 4,
    "attention-output",
  );
  const visited = createStorage(device, shape.heads * queries * 4, "attention-visited");
  const bind = (pipeline: GPUComputePipeline, buffers: GPUBuffer[]) =>
    bindInOrder(device, pipeline, buffers);
  const [method, select, attend] = await Promise.all([
    scoring.build({ gpu, uniforms, scores, geometry, bind }),
    compileCompute(device, selectWgsl(shape.headDim, blocks), "block-select"),
    compileCompute(device, attendWgsl(shape.headDim), "block-attend"),
  ]);
  const passes: Pass[] = [
    ...method.passes,
    [select.pipeline, bind(select.pipeline, [scores, chosen, chosenCount, uniforms]), [
      Math.ceil(queryBlocks / BLOCK_WORKGROUP),
      shape.heads,
      1,
    ]],
    [
      attend.pipeline,
      bind(attend.pipeline, [
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
    ],
  ];
  return {
    encode: (encoder) => encodePasses(encoder, passes),
    output,
    visited,
    compileMs: method.compileMs + select.compileMs + attend.compileMs,
    extraFlops: method.extraFlops,
    dispose() {
      for (const b of [uniforms, scores, chosen, chosenCount, output, visited, ...method.buffers]) {
        b.destroy();
      }
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Multi-step (staged) block-sparse attention: methods that keep state across the steps folded
// into the heads (AttentionShape.steps) select each slice's blocks from another slice's scores
// (a pattern computed once and reused), with a per-slice budget, and run in stages so that a
// later stage's scoring can read what an earlier stage's attention left (its row log-sum-exp).

/** The uniform block of the staged passes: Params of block_topk_kernel.ts plus two fields. */
const STAGED_UNIFORM_BYTES = 48;

/**
 * WGSL shared by the staged passes: the block-sparse Params (same layout as block_topk_kernel's
 * COMMON, so both read one uniform buffer) plus the first slice of the stage (`slice_base`: the
 * passes see the stage's slices as gid 0, 1, …) and how many slices back a pass reads the row
 * log-sum-exp from (`lse_lag`).
 */
export const STAGED_COMMON = (headDim: number): string => /* wgsl */ `
struct Params { seq: u32, heads: u32, causal: u32, block: u32, blocks: u32, density: f32, scale: f32, max_keep: u32, queries: u32, q_blocks: u32, slice_base: u32, lse_lag: u32 };
fn last_position(qb: u32) -> u32 { return p.seq - p.queries + min((qb + 1u) * p.block, p.queries) - 1u; }
const D4: u32 = ${headDim / 4}u;
`;

/** Planned selection, per (query block, slice of the stage): the source slice's best blocks. */
export function plannedSelectWgsl(headDim: number, blocks: number): string {
  return STAGED_COMMON(headDim) + /* wgsl */ `
@group(0) @binding(0) var<storage, read> scores: array<f32>;
@group(0) @binding(1) var<storage, read_write> chosen: array<u32>;
@group(0) @binding(2) var<storage, read_write> chosen_count: array<u32>;
@group(0) @binding(3) var<storage, read> plan_source: array<u32>;
@group(0) @binding(4) var<storage, read> plan_density: array<f32>;
@group(0) @binding(5) var<storage, read> counts: array<u32>;
@group(0) @binding(6) var<uniform> p: Params;

@compute @workgroup_size(${BLOCK_WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let qb = gid.x;
  let slice = gid.y + p.slice_base;
  if (qb >= p.q_blocks) { return; }
  let src = plan_source[slice];
  let own = last_position(qb) / p.block;
  var visible = p.blocks;
  if (p.causal == 1u) { visible = own + 1u; }
  var keep = min(visible, max(1u, u32(floor(plan_density[slice] * f32(visible) + 0.5))));
  // A budget the method computed on the GPU (a block count for the source slice) overrides.
  if (counts[src] > 0u) { keep = min(visible, counts[src]); }
  var taken: array<u32, ${blocks}>;
  for (var b = 0u; b < visible; b++) { taken[b] = 0u; }
  taken[own] = 1u;
  let row_scores = (src * p.q_blocks + qb) * p.blocks;
  for (var n = 1u; n < keep; n++) {
    var best = 0u;
    var best_score = -3.4e38;
    var found = false;
    for (var b = 0u; b < visible; b++) {
      let s = scores[row_scores + b];
      if (taken[b] == 0u && (!found || s > best_score)) { best = b; best_score = s; found = true; }
    }
    taken[best] = 1u;
  }
  let out = (slice * p.q_blocks + qb) * p.max_keep;
  var count = 0u;
  for (var b = 0u; b < visible; b++) {
    if (taken[b] == 1u) { chosen[out + count] = b; count++; }
  }
  chosen_count[slice * p.q_blocks + qb] = count;
}`;
}

/**
 * Attention over the chosen blocks, per (row, slice of the stage), as block_topk_kernel's
 * attendWgsl, also leaving each row's log-sum-exp of the scaled logits it attended (a later
 * stage's search may reuse it instead of a pass of its own).
 */
export function stagedAttendWgsl(headDim: number): string {
  return STAGED_COMMON(headDim) + /* wgsl */ `
@group(0) @binding(0) var<storage, read> q: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> k: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> v: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> chosen: array<u32>;
@group(0) @binding(4) var<storage, read> chosen_count: array<u32>;
@group(0) @binding(5) var<storage, read_write> o: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read_write> visited: array<u32>;
@group(0) @binding(7) var<storage, read_write> lse: array<f32>;
@group(0) @binding(8) var<uniform> p: Params;

@compute @workgroup_size(${BLOCK_WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let row = gid.x;
  let head = gid.y + p.slice_base;
  if (row >= p.queries) { return; }
  let pos = p.seq - p.queries + row;
  let qb = row / p.block;
  let base = head * p.seq * D4;
  let qrow = (head * p.queries + row) * D4;
  var qr: array<vec4<f32>, D4>;
  var acc: array<vec4<f32>, D4>;
  for (var i = 0u; i < D4; i++) {
    qr[i] = q[qrow + i] * p.scale;
    acc[i] = vec4<f32>(0.0);
  }
  var running_max = -3.0e38;
  var denom = 0.0;
  var count = 0u;
  let list = (head * p.q_blocks + qb) * p.max_keep;
  let n = chosen_count[head * p.q_blocks + qb];
  for (var c = 0u; c < n; c++) {
    let kb = chosen[list + c];
    let first = kb * p.block;
    var last = min(first + p.block, p.seq) - 1u;
    if (p.causal == 1u) { last = min(last, pos); }
    for (var j = first; j <= last; j++) {
      let kbase = base + j * D4;
      var dot4 = vec4<f32>(0.0);
      for (var i = 0u; i < D4; i++) { dot4 += qr[i] * k[kbase + i]; }
      let s = dot4.x + dot4.y + dot4.z + dot4.w;
      let new_max = max(running_max, s);
      let rescale = exp(running_max - new_max);
      let weight = exp(s - new_max);
      denom = denom * rescale + weight;
      for (var i = 0u; i < D4; i++) { acc[i] = acc[i] * rescale + weight * v[kbase + i]; }
      running_max = new_max;
    }
    count += last - first + 1u;
  }
  for (var i = 0u; i < D4; i++) { o[qrow + i] = acc[i] / denom; }
  visited[head * p.queries + row] = count;
  lse[head * p.queries + row] = running_max + log(denom);
}`;
}

/**
 * Which slice's scores (and GPU-computed block count, if any) each slice's selection reads, and
 * the share of visible blocks it keeps otherwise (1: every block, dense attention).
 */
export interface SlicePlan {
  source: number[];
  density: number[];
}

/** Slices [first, first + count), selected and attended after the stage's scoring passes. */
export interface Stage {
  first: number;
  count: number;
  passes: Pass[];
}

/** What a multi-step block-sparse method adds: its scoring passes, stage by stage. */
export interface StagedScoring {
  build(context: {
    gpu: GpuContext;
    geometry: BlockGeometry;
    /** slices × q_blocks × blocks block scores; a slice's selection reads its source's. */
    scores: GPUBuffer;
    /** slices × queries: each row's log-sum-exp, left by its slice's attention. */
    lse: GPUBuffer;
    /** One u32 per slice: a block count overriding the planned density when non-zero. */
    counts: GPUBuffer;
    /** A uniform buffer for passes over slices from `first`, reading lse `lseLag` slices back. */
    uniforms(first: number, lseLag: number): GPUBuffer;
    bind(pipeline: GPUComputePipeline, buffers: GPUBuffer[]): GPUBindGroup;
  }): Promise<{ stages: Stage[]; compileMs: number; buffers: GPUBuffer[]; extraFlops: number }>;
}

/**
 * Sets up a multi-step block-sparse method: per stage, the method's scoring passes, then the
 * planned selection and attention of the stage's slices.
 *
 * @throws RangeError when the stages do not cover the slices in order
 */
export async function setupStagedBlockSparse(
  gpu: GpuContext,
  shape: AttentionShape,
  inputs: AttentionGpuInputs,
  s: BlockSettings,
  plan: SlicePlan,
  scoring: StagedScoring,
): Promise<AttentionKernel> {
  const { device } = gpu;
  const geometry = blockGeometry(shape, s.block);
  const { blocks, queryBlocks } = geometry;
  const queries = queryCount(shape);
  const owned: GPUBuffer[] = [];
  const own = (b: GPUBuffer) => (owned.push(b), b);
  const uniformsByKey = new Map<string, GPUBuffer>();
  const uniforms = (first: number, lseLag: number) => {
    const key = `${first}|${lseLag}`;
    let buffer = uniformsByKey.get(key);
    if (buffer) return buffer;
    buffer = own(device.createBuffer({
      size: STAGED_UNIFORM_BYTES,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
    }));
    const view = new DataView(new ArrayBuffer(STAGED_UNIFORM_BYTES));
    [shape.seq, shape.heads, shape.causal ? 1 : 0, s.block, blocks].forEach((x, i) =>
      view.setUint32(i * 4, x, true)
    );
    view.setFloat32(20, s.density, true);
    view.setFloat32(24, 1 / Math.sqrt(shape.headDim), true);
    [blocks, queries, queryBlocks, first, lseLag].forEach((x, i) =>
      view.setUint32(28 + i * 4, x, true)
    );
    device.queue.writeBuffer(buffer, 0, view.buffer);
    uniformsByKey.set(key, buffer);
    return buffer;
  };
  const slices = shape.heads;
  const scores = own(createStorage(device, slices * queryBlocks * blocks * 4, "block-scores"));
  const chosen = own(createStorage(device, slices * queryBlocks * blocks * 4, "chosen-blocks"));
  const chosenCount = own(createStorage(device, slices * queryBlocks * 4, "chosen-count"));
  const lse = own(createStorage(device, slices * queries * 4, "row-lse"));
  const counts = own(createStorage(device, slices * 4, "slice-block-counts"));
  const planSource = own(createStorage(device, slices * 4, "plan-source"));
  const planDensity = own(createStorage(device, slices * 4, "plan-density"));
  device.queue.writeBuffer(planSource, 0, Uint32Array.from(plan.source));
  device.queue.writeBuffer(planDensity, 0, Float32Array.from(plan.density));
  const output = own(
    createStorage(device, slices * queries * shape.headDim * 4, "attention-output"),
  );
  const visited = own(createStorage(device, slices * queries * 4, "attention-visited"));
  const bind = (pipeline: GPUComputePipeline, buffers: GPUBuffer[]) =>
    bindInOrder(device, pipeline, buffers);
  const [method, select, attend] = await Promise.all([
    scoring.build({ gpu, geometry, scores, lse, counts, uniforms, bind }),
    compileCompute(device, plannedSelectWgsl(shape.headDim, blocks), "planned-select"),
    compileCompute(device, stagedAttendWgsl(shape.headDim), "staged-attend"),
  ]);
  let next = 0;
  const passes: Pass[] = [];
  for (const stage of method.stages) {
    if (stage.first !== next || stage.count < 1) {
      throw new RangeError(
        `Cannot stage slices: expected a stage from slice ${next}, found ${stage.first} (+${stage.count})`,
      );
    }
    next += stage.count;
    const u = uniforms(stage.first, 0);
    passes.push(
      ...stage.passes,
      [
        select.pipeline,
        bind(select.pipeline, [scores, chosen, chosenCount, planSource, planDensity, counts, u]),
        [Math.ceil(queryBlocks / BLOCK_WORKGROUP), stage.count, 1],
      ],
      [
        attend.pipeline,
        bind(attend.pipeline, [
          inputs.q,
          inputs.k,
          inputs.v,
          chosen,
          chosenCount,
          output,
          visited,
          lse,
          u,
        ]),
        [Math.ceil(queries / BLOCK_WORKGROUP), stage.count, 1],
      ],
    );
  }
  if (next !== slices) {
    throw new RangeError(`Cannot stage slices: the stages cover ${next} of ${slices} slices`);
  }
  return {
    encode: (encoder) => encodePasses(encoder, passes),
    output,
    visited,
    compileMs: method.compileMs + select.compileMs + attend.compileMs,
    extraFlops: method.extraFlops,
    dispose() {
      for (const b of [...owned, ...method.buffers]) b.destroy();
    },
  };
}

/**
 * The CPU reference of a row's log-sum-exp over `keys` (scaled logits), in float64: what the
 * staged attention leaves for a later search.
 */
export function rowLogSumExp(
  shape: AttentionShape,
  inputs: AttentionInputs,
  slice: number,
  row: number,
  keys: ArrayLike<number>,
): number {
  const d = shape.headDim;
  const qOff = (slice * queryCount(shape) + row) * d;
  const base = slice * shape.seq * d;
  const scale = 1 / Math.sqrt(d);
  const logits = Float64Array.from({ length: keys.length }, (_, n) => {
    let dot = 0;
    for (let i = 0; i < d; i++) dot += inputs.q[qOff + i] * inputs.k[base + keys[n] * d + i];
    return dot * scale;
  });
  const max = logits.reduce((a, b) => Math.max(a, b), -Infinity);
  return max + Math.log(logits.reduce((a, x) => a + Math.exp(x - max), 0));
}

/**
 * The CPU reference of one query block's exact block attention mass, in float64: per visible key
 * block, Σ over the query block's rows and the block's keys of exp(logit − lse(row)), where
 * `lse` defaults to each row's own dense log-sum-exp (computed from the same logits).
 */
export function blockMassOf(
  shape: AttentionShape,
  inputs: AttentionInputs,
  block: number,
  slice: number,
  qb: number,
  lse?: (row: number) => number,
): Float64Array {
  const geometry = blockGeometry(shape, block);
  const d = shape.headDim;
  const queries = queryCount(shape);
  const base = slice * shape.seq * d;
  const scale = 1 / Math.sqrt(d);
  const mass = new Float64Array(geometry.visible(qb));
  for (let row = qb * block; row < Math.min((qb + 1) * block, queries); row++) {
    const qOff = (slice * queries + row) * d;
    const last = shape.causal ? queryOffset(shape) + row : shape.seq - 1;
    const logits = new Float64Array(last + 1);
    let max = -Infinity;
    for (let j = 0; j <= last; j++) {
      let dot = 0;
      for (let i = 0; i < d; i++) dot += inputs.q[qOff + i] * inputs.k[base + j * d + i];
      logits[j] = dot * scale;
      if (logits[j] > max) max = logits[j];
    }
    let rowLse = lse?.(row);
    if (rowLse === undefined) {
      let sum = 0;
      for (const x of logits) sum += Math.exp(x - max);
      rowLse = max + Math.log(sum);
    }
    for (let j = 0; j <= last; j++) mass[Math.floor(j / block)] += Math.exp(logits[j] - rowLse);
  }
  return mass;
}

/**
 * Whether the budget boundary of a selection by `scores` (own block plus the keep − 1 best
 * others) falls on a near-tie that float32 rounding on the GPU may resolve differently.
 */
export function boundaryNearTie(
  geometry: BlockGeometry,
  qb: number,
  scores: ArrayLike<number>,
  keep: number,
  relativeGap: number,
): boolean {
  const others = Array.from(scores).filter((_, kb) => kb !== geometry.own(qb)).sort((a, b) =>
    b - a
  );
  const extra = Math.min(geometry.visible(qb), Math.max(1, keep)) - 1;
  if (extra <= 0 || extra >= others.length) return false;
  return others[extra - 1] - others[extra] <= relativeGap * Math.abs(others[extra - 1]) + 1e-30;
}
