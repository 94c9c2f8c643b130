// onnxruntime-web's loaders and binaries as the runner page's pinned assets: the files of the
// two builds its peers run (web/build.ts bundles the builds' JavaScript, which imports the loader
// and instantiates the binary), pinned here by sha256 so the build refuses an installed package
// that differs, and read by the page through its asset source, checked, when a session needs them.
import type { OrtBuild, OrtFiles } from "../bench/nn/ort.ts";
import type { FileSource } from "../datasets/file_source.ts";
import { type AssetManifest, assetPath } from "./asset_source.ts";

/** The onnxruntime-web the project pins (deno.json's imports). */
export const ORT_PACKAGE = "onnxruntime-web";
/** Its version. */
export const ORT_VERSION = "1.30.0";

/**
 * Each build's loader (.mjs) and binary (.wasm), path in the package and sha256: "wasm" is
 * `onnxruntime-web/wasm` (the binary Deno's `onnxruntime-web` runs too), "webgpu" is
 * `onnxruntime-web/webgpu` (its WebGPU execution provider, on the asyncify binary).
 */
export const ORT_FILES: Readonly<
  Record<OrtBuild, { mjs: [string, string]; wasm: [string, string] }>
> = {
  wasm: {
    mjs: [
      "dist/ort-wasm-simd-threaded.mjs",
      "e13f7f94fc51b4ca72b12faeb1ee95f4ace6dfbc8939bc718aabdc0a27c4299b",
    ],
    wasm: [
      "dist/ort-wasm-simd-threaded.wasm",
      "3398c10d07d229bd91b364548e130e0e51a8e5704b88c7c083ebbeb78842dee2",
    ],
  },
  webgpu: {
    mjs: [
      "dist/ort-wasm-simd-threaded.asyncify.mjs",
      "3d1c85995364bb643302fc6fd877a0c3ba5ae72401815e0f24828a53d9191e28",
    ],
    wasm: [
      "dist/ort-wasm-simd-threaded.asyncify.wasm",
      "39f9f0894d478800487ed9f7dbe92618498db320cf55c8e3d89adff8dce658da",
    ],
  },
};

/** The asset manifest's key of a file of the package ("npm:onnxruntime-web@1.30.0/dist/…"). */
export function ortAssetKey(path: string): string {
  return `npm:${ORT_PACKAGE}@${ORT_VERSION}/${path}`;
}

/**
 * The page's loader for bench/nn/ort.ts's useOrtFiles: reads a build's loader and binary through
 * the page's file source (so both are checked against the bundle's pins) and gives onnxruntime-web
 * the binary's bytes and the loader's asset URL, which it imports (and starts its threads from).
 *
 * @param source the page's file source (web/asset_source.ts)
 * @param manifest the bundle's assets
 * @param base the URL the asset paths are relative to (/static/)
 * @throws {Error} the source's, naming the file, when one is not served or differs from its pin
 */
export function ortFilesFromAssets(
  source: FileSource,
  manifest: AssetManifest,
  base: URL,
): (build: OrtBuild) => Promise<OrtFiles> {
  return async (build) => {
    const { mjs, wasm } = ORT_FILES[build];
    const [mjsKey, wasmKey] = [ortAssetKey(mjs[0]), ortAssetKey(wasm[0])];
    // The loader is fetched and checked here; onnxruntime-web's import of the same immutable
    // URL then comes from the browser's cache.
    const [, bytes] = await Promise.all([source.readFile(mjsKey), source.readFile(wasmKey)]);
    return { mjs: new URL(assetPath(manifest.files[mjsKey]), base).href, wasm: bytes };
  };
}
