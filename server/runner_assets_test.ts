// The runner's pinned data files are served under their sha256, read on first request, with
// caching for good; a hash the server does not hold is a 404, and so is a file that changed
// since the build, with a message saying to rebuild the bundle.
import { join } from "node:path";
import { sha256Hex } from "../bench/random.ts";
import { assert, assertEquals, assertStringIncludes } from "../tests/assert.ts";
import { loadAssets } from "./assets.ts";
import { staticRoutes } from "./static_routes.ts";

async function bundleDir(files: Record<string, Uint8Array>) {
  const dir = await Deno.makeTempDir({ prefix: "sparsebench-assets-" });
  await Deno.writeTextFile(join(dir, "runner.js"), "export {};\n");
  const listed = [];
  for (const [name, body] of Object.entries(files)) {
    await Deno.writeFile(join(dir, name), body);
    const sha256 = await sha256Hex(body);
    listed.push({ key: `datasets/x/${name}`, file: join(dir, name), name, sha256, bytes: 0 });
  }
  await Deno.writeTextFile(
    join(dir, "assets.json"),
    JSON.stringify({ files: listed, missing: [] }),
  );
  return dir;
}

Deno.test("pinned assets are served by content hash, immutable, and nothing else is", async () => {
  const body = new Uint8Array([7, 1, 2, 3]);
  const dir = await bundleDir({ "t10k-labels-idx1-ubyte": body });
  try {
    const assets = await loadAssets({ runnerBundle: join(dir, "runner.js") });
    const app = staticRoutes(assets);
    const sha = await sha256Hex(body);
    const res = await app.request(`/assets/${sha}/t10k-labels-idx1-ubyte`);
    assertEquals(res.status, 200);
    assertEquals(new Uint8Array(await res.arrayBuffer()), body);
    assert(res.headers.get("Cache-Control")!.includes("immutable"));
    const other = await app.request(`/assets/${"0".repeat(64)}/t10k-labels-idx1-ubyte`);
    assertEquals(other.status, 404);
    await other.body?.cancel();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a pinned file changed since the build is refused, saying to rebuild", async () => {
  const body = new Uint8Array([1]);
  const dir = await bundleDir({ "a.json": body });
  try {
    const app = staticRoutes(await loadAssets({ runnerBundle: join(dir, "runner.js") }));
    await Deno.writeFile(join(dir, "a.json"), new Uint8Array([2]));
    const res = await app.request(`/assets/${await sha256Hex(body)}/a.json`);
    assertEquals(res.status, 404);
    assertStringIncludes(await res.text(), "deno task bundle-browser");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an .mjs asset is served as JavaScript to isolated workers, data as bytes", async () => {
  const mjs = new TextEncoder().encode("export default 1;\n");
  const data = new Uint8Array([0, 97, 115, 109]);
  const dir = await bundleDir({ "loader.mjs": mjs, "binary.wasm": data });
  try {
    const app = staticRoutes(await loadAssets({ runnerBundle: join(dir, "runner.js") }));
    const script = await app.request(`/assets/${await sha256Hex(mjs)}/loader.mjs`);
    assertEquals(script.headers.get("Content-Type"), "text/javascript; charset=utf-8");
    // onnxruntime-web's worker threads start from its loader; an isolated page's workers
    // start only from responses that are isolated too.
    assertEquals(script.headers.get("Cross-Origin-Embedder-Policy"), "require-corp");
    assertEquals(new Uint8Array(await script.arrayBuffer()), mjs);
    const bytes = await app.request(`/assets/${await sha256Hex(data)}/binary.wasm`);
    assertEquals(bytes.headers.get("Content-Type"), "application/octet-stream");
    await bytes.body?.cancel();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
