// The runner's pinned data files are served under the sha256 of the bytes the server read, with
// caching for good; a hash the server does not hold is a 404, and a list naming a file that is
// gone is an error saying to rebuild the bundle.
import { join } from "node:path";
import { sha256Hex } from "../bench/random.ts";
import { assert, assertEquals, assertRejects } from "../tests/assert.ts";
import { loadAssets, runnerDataAssets } from "./assets.ts";
import { staticRoutes } from "./static_routes.ts";

async function bundleDir(files: Record<string, Uint8Array>) {
  const dir = await Deno.makeTempDir({ prefix: "sparsebench-assets-" });
  await Deno.writeTextFile(join(dir, "runner.js"), "export {};\n");
  const listed = [];
  for (const [name, body] of Object.entries(files)) {
    await Deno.writeFile(join(dir, name), body);
    listed.push({ key: `datasets/x/${name}`, file: join(dir, name), name, sha256: "", bytes: 0 });
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

Deno.test("an asset list naming a missing file says to rebuild the bundle", async () => {
  const dir = await bundleDir({ "a.json": new Uint8Array([1]) });
  try {
    await Deno.remove(join(dir, "a.json"));
    await assertRejects(
      () => runnerDataAssets(join(dir, "runner.js")),
      Error,
      "deno task bundle-browser",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
