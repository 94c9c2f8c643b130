// WGSL for the Routing Transformer's routing: spherical k-means over a head's unit-normalised keys
// and queries together (shared centroids), then each query row's group is its nearest centroid
// and each group's bitmap holds the keys of that cluster. Every sum runs in a fixed order (one
// invocation per centroid adds its members in point order; dots in 4 lanes, then x+y+z+w) so the
// CPU reference (routing.ts) can repeat it exactly in float32. Points of a head: its seq keys,
// then its query rows. The family's key-mask attend pass does the attention.
import { KEY_DOT_UNROLLED, laneLoop, MASKS_PARAMS } from "../../bench/families/attention/mod.ts";

export const ROUTING_WORKGROUP = 64;

const COMMON = (headDim: number) =>
  MASKS_PARAMS + /* wgsl */ `
const D4: u32 = ${headDim / 4}u;
fn points() -> u32 { return p.seq + p.queries; }
fn clusters() -> u32 { return p.groups / p.heads; }
`;

/** Dot product in the CPU reference's order: four lanes over vec4 steps, then x + y + z + w. */
const DOT = (a: string, b: string) => /* wgsl */ `
fn dot_lanes(pa: u32, pb: u32) -> f32 {
  var acc = vec4<f32>(0.0);
  for (var i = 0u; i < D4; i++) { acc += ${a}[pa + i] * ${b}[pb + i]; }
  return acc.x + acc.y + acc.z + acc.w;
}
`;

/** Per (point, head): the point divided by its length (zero stays zero). */
export function normalizeWgsl(headDim: number): string {
  return COMMON(headDim) + /* wgsl */ `
@group(0) @binding(0) var<storage, read> q: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> k: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> units: array<vec4<f32>>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(${ROUTING_WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let point = gid.x;
  let head = gid.y;
  if (point >= points()) { return; }
  let out = (head * points() + point) * D4;
  var x: array<vec4<f32>, D4>;
  var acc = vec4<f32>(0.0);
  for (var i = 0u; i < D4; i++) {
    if (point < p.seq) { x[i] = k[(head * p.seq + point) * D4 + i]; }
    else { x[i] = q[(head * p.queries + point - p.seq) * D4 + i]; }
    acc += x[i] * x[i];
  }
  let len = sqrt(acc.x + acc.y + acc.z + acc.w);
  for (var i = 0u; i < D4; i++) {
    if (len > 0.0) { units[out + i] = x[i] / len; } else { units[out + i] = vec4<f32>(0.0); }
  }
}`;
}

/** Per (centroid, head): seeded from the data, the evenly spaced keys ⌊(2c + 1)·seq / 2C⌋. */
export function initWgsl(headDim: number): string {
  return COMMON(headDim) + /* wgsl */ `
@group(0) @binding(0) var<storage, read> units: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> centroids: array<vec4<f32>>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(${ROUTING_WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let c = gid.x;
  let head = gid.y;
  if (c >= clusters()) { return; }
  let key = ((2u * c + 1u) * p.seq) / (2u * clusters());
  for (var i = 0u; i < D4; i++) {
    centroids[(head * clusters() + c) * D4 + i] = units[(head * points() + key) * D4 + i];
  }
}`;
}

/** Per (point, head): the centroid of largest dot product (nearest on the sphere), ties to lower. */
export function assignWgsl(headDim: number): string {
  return COMMON(headDim) + DOT("units", "centroids") + /* wgsl */ `
@group(0) @binding(0) var<storage, read> units: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> centroids: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> assign: array<u32>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(${ROUTING_WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let point = gid.x;
  let head = gid.y;
  if (point >= points()) { return; }
  let at = (head * points() + point) * D4;
  var best = 0u;
  var best_score = -3.0e38;
  for (var c = 0u; c < clusters(); c++) {
    let s = dot_lanes(at, (head * clusters() + c) * D4);
    if (s > best_score) { best = c; best_score = s; }
  }
  assign[head * points() + point] = best;
}`;
}

/**
 * Per (centroid, head): the normalised sum of its members, added in point order; a centroid
 * left without members keeps its place.
 */
export function updateWgsl(headDim: number): string {
  return COMMON(headDim) + /* wgsl */ `
@group(0) @binding(0) var<storage, read> units: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> centroids: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> assign: array<u32>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(${ROUTING_WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let c = gid.x;
  let head = gid.y;
  if (c >= clusters()) { return; }
  var sum: array<vec4<f32>, D4>;
  for (var i = 0u; i < D4; i++) { sum[i] = vec4<f32>(0.0); }
  var members = 0u;
  for (var point = 0u; point < points(); point++) {
    if (assign[head * points() + point] != c) { continue; }
    let at = (head * points() + point) * D4;
    for (var i = 0u; i < D4; i++) { sum[i] += units[at + i]; }
    members++;
  }
  var acc = vec4<f32>(0.0);
  for (var i = 0u; i < D4; i++) { acc += sum[i] * sum[i]; }
  let len = sqrt(acc.x + acc.y + acc.z + acc.w);
  if (members == 0u || len == 0.0) { return; }
  let out = (head * clusters() + c) * D4;
  for (var i = 0u; i < D4; i++) { centroids[out + i] = sum[i] / len; }
}`;
}

/**
 * Per (index, head): row `index` joins its cluster's group (rowGroup), and word `index` of every
 * cluster bitmap of the head gets its keys (this invocation alone writes that word of the head).
 */
export function routeWgsl(headDim: number): string {
  return COMMON(headDim) + /* wgsl */ `
@group(0) @binding(0) var<storage, read> assign: array<u32>;
@group(0) @binding(1) var<storage, read_write> row_group: array<u32>;
@group(0) @binding(2) var<storage, read_write> masks: array<u32>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(${ROUTING_WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let index = gid.x;
  let head = gid.y;
  if (index < p.queries) {
    row_group[head * p.queries + index] = head * clusters() + assign[head * points() + p.seq + index];
  }
  if (index < p.words) {
    for (var b = 0u; b < 32u; b++) {
      let key = index * 32u + b;
      if (key >= p.seq) { break; }
      let g = head * clusters() + assign[head * points() + key];
      masks[group_at(g) + index] |= 1u << b;
    }
  }
}`;
}

/**
 * Loop iterations one invocation of each pass above runs at most, for `points` points (keys and
 * query rows) and `clusters` centroids per head.
 */
export function routingIterations(
  headDim: number,
  at: { points: number; clusters: number },
): Record<string, number> {
  const lane = laneLoop(headDim);
  return {
    "routing-normalize": 2 * lane + 2,
    "routing-init": lane + 1,
    // A dot per centroid (dot_lanes is key_dot's loop).
    "routing-assign": at.clusters * (1 + laneLoop(headDim, KEY_DOT_UNROLLED)) + 1,
    // Every point of the head, a lane loop per member: measured to unroll up to 28 lanes (head
    // dim 112), so at head dim 100 an update over 32,768 points still fits.
    "routing-update": 3 * lane + 3 + at.points * (1 + laneLoop(headDim, 28)),
    // The 32 keys of a word.
    "routing-route": 33,
  };
}
