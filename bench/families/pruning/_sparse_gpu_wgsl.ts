// WGSL of the pruned-Linear kernels in _sparse_gpu.ts: dense, CSR and N:M products over the
// batch-packed activation layout, each as a batched kernel and a batch-1 kernel.
//
// Every kernel binds, in order: 0 the input x, 1 the output y, 2 the uniform Dims, 3 the bias,
// then its weight buffers. Activations of F features at batch B are [F × B4] vec4 with
// B4 = ⌈B/4⌉: lane r % 4 of vec4 f·B4 + ⌊r/4⌋ holds row r's feature f. Batched kernels give one
// invocation an output feature (four, for dense) and one vec4 of batch rows, so invocations that
// share a weight row read it together and their x loads are consecutive. Batch-1 kernels give a
// row LANES invocations that split its work and sum it in workgroup memory.
//
// No invocation loops more than the input width (plus a word count for N:M): the software
// adapter ends a loop after 65,535 iterations without a word.

/** Invocations per workgroup of every kernel here. */
export const WORKGROUP = 64;

const COMMON = /* wgsl */ `
struct Dims { rows: u32, cols: u32, b4: u32, batch: u32, relu: u32, slots: u32, words: u32, pad: u32 }
@group(0) @binding(0) var<storage, read> x: array<vec4f>;
@group(0) @binding(1) var<storage, read_write> y: array<vec4f>;
@group(0) @binding(2) var<uniform> dims: Dims;
@group(0) @binding(3) var<storage, read> bias: array<f32>;

// Bias, ReLU, and zeros in the lanes past the last batch row, so that the padded lanes of a
// chain of layers stay zero whatever the bias.
fn finish(acc: vec4f, j: u32, q: u32) -> vec4f {
  var s = acc + vec4f(bias[j]);
  if (dims.relu != 0u) { s = max(s, vec4f(0.0)); }
  let lane = vec4u(q * 4u) + vec4u(0u, 1u, 2u, 3u);
  return select(vec4f(0.0), s, lane < vec4u(dims.batch));
}

// Workgroups are laid out two-dimensionally when one dimension's 65,535 would not be enough.
fn flat_group(wg: vec3u, ng: vec3u) -> u32 { return wg.y * ng.x + wg.x; }
`;

/** The batch-1 kernels' split of one row over LANES invocations, and their sum at the end. */
function rowSplit(lanes: number, accType: "f32" | "vec4f"): string {
  return /* wgsl */ `
const LANES: u32 = ${lanes}u;
const ROWS_PER_GROUP: u32 = ${WORKGROUP / lanes}u;
var<workgroup> partial: array<${accType}, ${WORKGROUP}>;

fn reduce_lanes(li: u32, acc: ${accType}) -> ${accType} {
  partial[li] = acc;
  workgroupBarrier();
  for (var s = LANES / 2u; s > 0u; s >>= 1u) {
    if (li % LANES < s) { partial[li] += partial[li + s]; }
    workgroupBarrier();
  }
  return partial[li];
}
`;
}

/**
 * Dense, batched: w is [⌈rows/4⌉ × cols] vec4, the vec4 holding four consecutive output rows'
 * weights of one input; each invocation owns four output rows and one vec4 of batch rows.
 */
export const DENSE_BATCHED_WGSL = COMMON + /* wgsl */ `
@group(0) @binding(4) var<storage, read> w: array<vec4f>;

@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) ng: vec3u,
        @builtin(local_invocation_index) li: u32) {
  let id = flat_group(wg, ng) * ${WORKGROUP}u + li;
  let blocks = (dims.rows + 3u) / 4u;
  if (id >= blocks * dims.b4) { return; }
  let jb = id / dims.b4;
  let q = id % dims.b4;
  var a0 = vec4f(0.0);
  var a1 = vec4f(0.0);
  var a2 = vec4f(0.0);
  var a3 = vec4f(0.0);
  let base = jb * dims.cols;
  for (var k = 0u; k < dims.cols; k++) {
    let wv = w[base + k];
    let xv = x[k * dims.b4 + q];
    a0 += wv.x * xv;
    a1 += wv.y * xv;
    a2 += wv.z * xv;
    a3 += wv.w * xv;
  }
  let j0 = jb * 4u;
  y[j0 * dims.b4 + q] = finish(a0, j0, q);
  if (j0 + 1u < dims.rows) { y[(j0 + 1u) * dims.b4 + q] = finish(a1, j0 + 1u, q); }
  if (j0 + 2u < dims.rows) { y[(j0 + 2u) * dims.b4 + q] = finish(a2, j0 + 2u, q); }
  if (j0 + 3u < dims.rows) { y[(j0 + 3u) * dims.b4 + q] = finish(a3, j0 + 3u, q); }
}
`;

/** Dense, batch 1: LANES invocations split the inputs of a block of four output rows. */
export function denseSingleWgsl(lanes: number): string {
  return COMMON + rowSplit(lanes, "vec4f") + /* wgsl */ `
@group(0) @binding(4) var<storage, read> w: array<vec4f>;

@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) ng: vec3u,
        @builtin(local_invocation_index) li: u32) {
  let jb = flat_group(wg, ng) * ROWS_PER_GROUP + li / LANES;
  let blocks = (dims.rows + 3u) / 4u;
  var acc = vec4f(0.0);
  if (jb < blocks) {
    let base = jb * dims.cols;
    for (var k = li % LANES; k < dims.cols; k += LANES) { acc += w[base + k] * x[k].x; }
  }
  let sum = reduce_lanes(li, acc);
  if (jb >= blocks || li % LANES != 0u) { return; }
  let j0 = jb * 4u;
  for (var c = 0u; c < 4u; c++) {
    if (j0 + c < dims.rows) { y[j0 + c] = finish(vec4f(sum[c], 0.0, 0.0, 0.0), j0 + c, 0u); }
  }
}
`;
}

/**
 * CSR, batched: entries are (column, value bits) pairs in row order, rowPtr [rows + 1] their
 * row starts; each invocation owns one output row and one vec4 of batch rows.
 */
export const CSR_BATCHED_WGSL = COMMON + /* wgsl */ `
@group(0) @binding(4) var<storage, read> entries: array<vec2u>;
@group(0) @binding(5) var<storage, read> rowPtr: array<u32>;

@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) ng: vec3u,
        @builtin(local_invocation_index) li: u32) {
  let id = flat_group(wg, ng) * ${WORKGROUP}u + li;
  if (id >= dims.rows * dims.b4) { return; }
  let j = id / dims.b4;
  let q = id % dims.b4;
  var acc = vec4f(0.0);
  let end = rowPtr[j + 1u];
  for (var p = rowPtr[j]; p < end; p++) {
    let e = entries[p];
    acc += bitcast<f32>(e.y) * x[e.x * dims.b4 + q];
  }
  y[j * dims.b4 + q] = finish(acc, j, q);
}
`;

/** CSR, batch 1: LANES invocations split one row's nonzeros. */
export function csrSingleWgsl(lanes: number): string {
  return COMMON + rowSplit(lanes, "f32") + /* wgsl */ `
@group(0) @binding(4) var<storage, read> entries: array<vec2u>;
@group(0) @binding(5) var<storage, read> rowPtr: array<u32>;

@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) ng: vec3u,
        @builtin(local_invocation_index) li: u32) {
  let j = flat_group(wg, ng) * ROWS_PER_GROUP + li / LANES;
  var acc = 0.0;
  if (j < dims.rows) {
    let end = rowPtr[j + 1u];
    for (var p = rowPtr[j] + li % LANES; p < end; p += LANES) {
      let e = entries[p];
      acc += bitcast<f32>(e.y) * x[e.x].x;
    }
  }
  let sum = reduce_lanes(li, acc);
  if (j < dims.rows && li % LANES == 0u) { y[j] = finish(vec4f(sum, 0.0, 0.0, 0.0), j, 0u); }
}
`;
}

/** The N:M constants: N kept of every M, BITS per packed in-group index, SPW per u32 word. */
function nmConstants(n: number, m: number, bits: number): string {
  return /* wgsl */ `
const N: u32 = ${n}u;
const M: u32 = ${m}u;
const BITS: u32 = ${bits}u;
const SPW: u32 = ${Math.floor(32 / bits)}u;
const INDEX_MASK: u32 = ${(1 << bits) - 1}u;
@group(0) @binding(4) var<storage, read> values: array<f32>;
@group(0) @binding(5) var<storage, read> indices: array<u32>;
`;
}

/**
 * N:M, batched: values [rows × slots] (slot s is the (s mod N)-th kept weight of group ⌊s/N⌋),
 * indices [rows × words] u32, slot s's in-group position in bits (s mod SPW)·BITS of word
 * ⌊s/SPW⌋ of its row; each invocation owns one output row and one vec4 of batch rows.
 */
export function nmBatchedWgsl(n: number, m: number, bits: number): string {
  return COMMON + nmConstants(n, m, bits) + /* wgsl */ `
@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) ng: vec3u,
        @builtin(local_invocation_index) li: u32) {
  let id = flat_group(wg, ng) * ${WORKGROUP}u + li;
  if (id >= dims.rows * dims.b4) { return; }
  let j = id / dims.b4;
  let q = id % dims.b4;
  var acc = vec4f(0.0);
  let vbase = j * dims.slots;
  let ibase = j * dims.words;
  for (var wi = 0u; wi < dims.words; wi++) {
    let word = indices[ibase + wi];
    let s0 = wi * SPW;
    let count = min(SPW, dims.slots - s0);
    for (var t = 0u; t < count; t++) {
      let s = s0 + t;
      let k = (s / N) * M + ((word >> (t * BITS)) & INDEX_MASK);
      acc += values[vbase + s] * x[k * dims.b4 + q];
    }
  }
  y[j * dims.b4 + q] = finish(acc, j, q);
}
`;
}

/** N:M, batch 1: LANES invocations split one row's index words. */
export function nmSingleWgsl(n: number, m: number, bits: number, lanes: number): string {
  return COMMON + nmConstants(n, m, bits) + rowSplit(lanes, "f32") + /* wgsl */ `
@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(num_workgroups) ng: vec3u,
        @builtin(local_invocation_index) li: u32) {
  let j = flat_group(wg, ng) * ROWS_PER_GROUP + li / LANES;
  var acc = 0.0;
  if (j < dims.rows) {
    let vbase = j * dims.slots;
    let ibase = j * dims.words;
    for (var wi = li % LANES; wi < dims.words; wi += LANES) {
      let word = indices[ibase + wi];
      let s0 = wi * SPW;
      let count = min(SPW, dims.slots - s0);
      for (var t = 0u; t < count; t++) {
        let s = s0 + t;
        let k = (s / N) * M + ((word >> (t * BITS)) & INDEX_MASK);
        acc += values[vbase + s] * x[k].x;
      }
    }
  }
  let sum = reduce_lanes(li, acc);
  if (j < dims.rows && li % LANES == 0u) { y[j] = finish(vec4f(sum, 0.0, 0.0, 0.0), j, 0u); }
}
`;
}
