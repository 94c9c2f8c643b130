// WGSL: score a batch of queries against the document × term impact matrix in CSR form. One
// invocation per (document, query) merges the document's row with the query's sorted terms;
// documents with a positive score are appended to the query's hit list through an atomic counter.

export const CSR_WORKGROUP = 64;

export const CSR_SCORE_WGSL = /* wgsl */ `
struct Params {
  numDocs: u32,
  numQueries: u32,
  cap: u32,
  pad: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> rowPtr: array<u32>;
@group(0) @binding(2) var<storage, read> colIdx: array<u32>;
@group(0) @binding(3) var<storage, read> vals: array<u32>;
@group(0) @binding(4) var<storage, read> qPtr: array<u32>;
@group(0) @binding(5) var<storage, read> qTerms: array<u32>;
@group(0) @binding(6) var<storage, read> qWeights: array<u32>;
@group(0) @binding(7) var<storage, read_write> counts: array<atomic<u32>>;
@group(0) @binding(8) var<storage, read_write> hits: array<vec2<u32>>;

@compute @workgroup_size(${CSR_WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let d = gid.x;
  let q = gid.y;
  if (d >= params.numDocs || q >= params.numQueries) {
    return;
  }
  var i = rowPtr[d];
  let iEnd = rowPtr[d + 1u];
  var j = qPtr[q];
  let jEnd = qPtr[q + 1u];
  var s = 0u;
  loop {
    if (i >= iEnd || j >= jEnd) {
      break;
    }
    let a = colIdx[i];
    let b = qTerms[j];
    if (a == b) {
      s = s + vals[i] * qWeights[j];
      i = i + 1u;
      j = j + 1u;
    } else if (a < b) {
      i = i + 1u;
    } else {
      j = j + 1u;
    }
  }
  if (s > 0u) {
    let slot = atomicAdd(&counts[q], 1u);
    if (slot < params.cap) {
      hits[q * params.cap + slot] = vec2<u32>(d, s);
    }
  }
}
`;
