// onnxruntime-web (wasm backend) as a second, independent engine: runs exported models so their
// logits can be compared with the engine's own forward pass.
import * as ort from "onnxruntime-web";

let configured = false;

/**
 * An inference session for ONNX bytes on onnxruntime-web's wasm backend, one thread (threads
 * need cross-origin-isolated workers; one thread is also deterministic).
 */
export async function ortSession(
  model: Uint8Array,
  provider: "wasm" | "webgpu" = "wasm",
): Promise<ort.InferenceSession> {
  if (!configured) {
    ort.env.wasm.numThreads = 1;
    ort.env.logLevel = "error";
    configured = true;
  }
  return await ort.InferenceSession.create(model, { executionProviders: [provider] });
}

/** Logits of an exported MLP for `x` [rows × features]. */
export async function ortMlpLogits(
  session: ort.InferenceSession,
  x: Float32Array,
  rows: number,
): Promise<Float32Array> {
  const out = await session.run({ x: new ort.Tensor("float32", x, [rows, x.length / rows]) });
  return out.logits.data as Float32Array;
}

/** Logits of an exported GPT for `ids` [batch × seq]. */
export async function ortGptLogits(
  session: ort.InferenceSession,
  ids: Int32Array,
  batch: number,
): Promise<Float32Array> {
  const tensor = new ort.Tensor("int64", BigInt64Array.from(ids, (v) => BigInt(v)), [
    batch,
    ids.length / batch,
  ]);
  const out = await session.run({ ids: tensor });
  return out.logits.data as Float32Array;
}
