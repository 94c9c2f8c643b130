// onnxruntime-web (wasm backend) as a second, independent engine: runs exported models so their
// logits can be compared with the engine's own forward pass. Also the one place where a host
// that cannot read the package folder (the runner page) says where each onnxruntime-web build's
// loader and binary come from: every session is created after {@link ortReady}.
import * as ort from "onnxruntime-web";

let configured = false;

/**
 * The onnxruntime-web builds a session can run on: "wasm" (the package's default import, whose
 * binary is ort-wasm-simd-threaded) and "webgpu" (its `/webgpu` import, the asyncify binary).
 */
export type OrtBuild = "wasm" | "webgpu";

/** One build's loader and binary, where they do not come from the package folder. */
export interface OrtFiles {
  /** The URL of the build's .mjs loader: onnxruntime-web imports it and starts its threads from it. */
  mjs: string;
  /** The build's .wasm bytes, already checked against their pin. */
  wasm: Uint8Array;
}

/** What {@link useOrtFiles} installed: where each build's files come from, and whether threads may run. */
let files: {
  load: (build: OrtBuild) => Promise<OrtFiles>;
  threads: boolean;
  loaded: Map<OrtBuild, Promise<OrtFiles>>;
} | null = null;

/**
 * Tells every onnxruntime-web session where its build's files come from. The runner page calls
 * it once at start-up (the files are fetched when the first session of a build needs them);
 * under Deno it is never called and onnxruntime-web reads its package folder.
 *
 * @param load fetches and checks one build's loader and binary; null: the package folder again
 * @param options `threads`: whether worker threads can run (cross-origin isolation); without,
 *   every session runs on one thread
 * @example useOrtFiles((build) => fetchPinned(build), { threads: crossOriginIsolated });
 */
export function useOrtFiles(
  load: ((build: OrtBuild) => Promise<OrtFiles>) | null,
  options: { threads: boolean } = { threads: true },
): void {
  files = load ? { load, threads: options.threads, loaded: new Map() } : null;
}

/**
 * Points `env` (the onnxruntime-web module of `build`: each build has its own) at the files
 * {@link useOrtFiles} installed, fetching them on first use; nothing where none were installed.
 * Call it before every `InferenceSession.create`.
 *
 * @param env the `env` of the onnxruntime-web module that creates the session
 * @param build which build that module is
 * @throws {Error} the installed loader's, when a file cannot be fetched or differs from its pin
 */
export async function ortReady(env: typeof ort.env, build: OrtBuild): Promise<void> {
  if (!files) return;
  let pending = files.loaded.get(build);
  if (!pending) {
    pending = files.load(build);
    const loaded = files.loaded;
    // A failed fetch is not remembered: the next cell tries again.
    pending.catch(() => loaded.delete(build));
    loaded.set(build, pending);
  }
  const { mjs, wasm } = await pending;
  env.wasm.wasmPaths = { mjs };
  env.wasm.wasmBinary = wasm;
  if (!files.threads) env.wasm.numThreads = 1;
}

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
  // The package's default import, whichever execution provider it is asked for.
  await ortReady(ort.env, "wasm");
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
