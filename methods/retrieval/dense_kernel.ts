// WGSL: exact inner products of a batch of unit query vectors with every unit document vector
// (cosine similarity), written to a queries × docs matrix. One invocation scores one document
// against four queries with vec4 loads; documents are stored dimension-major in vec4 groups
// (docs[i4 · numDocs + d]) so neighbouring invocations read neighbouring memory.

export const DENSE_WORKGROUP = 64;
/** Queries one invocation scores. */
export const DENSE_QUERIES_PER_INVOCATION = 4;

export const DENSE_COSINE_WGSL = /* wgsl */ `
struct Params {
  numDocs: u32,
  numQueries: u32,
  dim4: u32,
  pad: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> docs: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> queries: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> scores: array<f32>;

@compute @workgroup_size(${DENSE_WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let d = gid.x;
  let q0 = gid.y * 4u;
  if (d >= params.numDocs) {
    return;
  }
  var s = vec4<f32>(0.0);
  for (var i = 0u; i < params.dim4; i = i + 1u) {
    let x = docs[i * params.numDocs + d];
    s.x = s.x + dot(x, queries[q0 * params.dim4 + i]);
    s.y = s.y + dot(x, queries[(q0 + 1u) * params.dim4 + i]);
    s.z = s.z + dot(x, queries[(q0 + 2u) * params.dim4 + i]);
    s.w = s.w + dot(x, queries[(q0 + 3u) * params.dim4 + i]);
  }
  for (var j = 0u; j < 4u; j = j + 1u) {
    if (q0 + j < params.numQueries) {
      scores[(q0 + j) * params.numDocs + d] = s[j];
    }
  }
}
`;
