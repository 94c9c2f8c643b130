// onnxruntime-web's files in the page: the build pins each one against the installed package,
// and the page's loader hands the library the checked binary and the loader's asset URL; a binary
// whose bytes differ from the pin fails the session with the file named, and is fetched again
// by the next session rather than remembered.
import { ortReady, useOrtFiles } from "../bench/nn/ort.ts";
import { sha256Hex } from "../bench/random.ts";
import type * as ort from "onnxruntime-web";
import { assert, assertEquals, assertRejects } from "../tests/assert.ts";
import { AssetError, type AssetManifest, assetSource } from "./asset_source.ts";
import { collectAssets } from "./browser_assets.ts";
import { ORT_FILES, ortAssetKey, ortFilesFromAssets } from "./ort_assets.ts";

const BASE = new URL("https://site.example/static/");

Deno.test("the build pins every onnxruntime-web file the page runs, from the installed package", async () => {
  const list = await collectAssets(new URL("../", import.meta.url).pathname);
  for (const build of Object.values(ORT_FILES)) {
    for (const [path, sha256] of [build.mjs, build.wasm]) {
      const entry = list.files.find((f) => f.key === ortAssetKey(path));
      assert(entry, `${path} is not pinned`);
      assertEquals(entry.sha256, sha256);
    }
  }
});

Deno.test("a session gets the checked binary and the loader's URL; a tampered binary fails it, named", async () => {
  const mjs = new TextEncoder().encode("export default {};");
  const wasm = new Uint8Array([0, 97, 115, 109]);
  const [mjsPath, wasmPath] = [ORT_FILES.wasm.mjs[0], ORT_FILES.wasm.wasm[0]];
  const entry = async (path: string, body: Uint8Array) => ({
    key: ortAssetKey(path),
    sha256: await sha256Hex(body),
    bytes: body.length,
    name: path.slice(path.lastIndexOf("/") + 1),
  });
  const manifest: AssetManifest = { files: {} };
  for (const e of [await entry(mjsPath, mjs), await entry(wasmPath, wasm)]) {
    manifest.files[e.key] = e;
  }
  const wasmUrl = `/static/assets/${manifest.files[ortAssetKey(wasmPath)].sha256}/${
    manifest.files[ortAssetKey(wasmPath)].name
  }`;
  let served = new Uint8Array([0, 97, 115, 110]);
  const fetcher = (url: URL) =>
    Promise.resolve(new Response((url.pathname === wasmUrl ? served : mjs) as BufferSource));
  const source = assetSource(manifest, BASE, fetcher);
  const env = { wasm: {} } as typeof ort.env;
  useOrtFiles(ortFilesFromAssets(source, manifest, BASE), { threads: false });
  try {
    const error = await assertRejects(() => ortReady(env, "wasm"), AssetError);
    assert(
      error.message.includes(`${ortAssetKey(wasmPath)} from https://site.example${wasmUrl}`) &&
        error.message.includes("the page pins"),
      error.message,
    );
    assertEquals(env.wasm.wasmBinary, undefined);
    served = wasm;
    await ortReady(env, "wasm");
    assertEquals(env.wasm.wasmBinary, wasm);
    const mjsEntry = manifest.files[ortAssetKey(mjsPath)];
    assertEquals(env.wasm.wasmPaths, {
      mjs: `https://site.example/static/assets/${mjsEntry.sha256}/${mjsEntry.name}`,
    });
    assertEquals(env.wasm.numThreads, 1);
  } finally {
    useOrtFiles(null);
  }
  const untouched = { wasm: {} } as typeof ort.env;
  await ortReady(untouched, "wasm");
  assertEquals(untouched.wasm, {}, "with no files installed the package folder serves");
});
