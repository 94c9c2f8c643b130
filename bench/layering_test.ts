// The project's layering, checked on every import of every TypeScript file (see ARCHITECTURE.md):
// methods and tasks meet only in their family's package; methods never import each other,
// datasets or a family's internals; only the CLI entries see both registries; the server reads
// only the result schema and metadata of the harness.
import { assertEquals } from "../tests/assert.ts";

const ROOT = new URL("../", import.meta.url);

/** Every .ts file under the project root, as a path relative to it. */
function sourceFiles(dir = ""): string[] {
  const out: string[] = [];
  for (const entry of Deno.readDirSync(new URL(dir || ".", ROOT))) {
    const path = dir ? `${dir}/${entry.name}` : entry.name;
    if (entry.isDirectory) {
      if ([".git", ".cache", "node_modules", "tmp", "results"].includes(entry.name)) continue;
      out.push(...sourceFiles(path));
    } else if (entry.name.endsWith(".ts")) {
      out.push(path);
    }
  }
  return out;
}

/** The relative imports of a file (static, re-exports and dynamic), resolved to project paths. */
export function relativeImports(path: string, text: string): string[] {
  const specifiers = [
    ...text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^;]*?\bfrom\s+"([^"]+)"/g),
    ...text.matchAll(/(?:^|\n)\s*import\s+"([^"]+)"/g),
    ...text.matchAll(/\bimport\(\s*"([^"]+)"\s*\)/g),
  ].map((m) => m[1]);
  return specifiers.filter((s) => s.startsWith(".")).map((s) => {
    const url = new URL(s, new URL(path, ROOT));
    return decodeURIComponent(url.pathname.slice(ROOT.pathname.length));
  });
}

const isTest = (path: string) => path.endsWith("_test.ts");
const familyOf = (path: string) => path.match(/^(?:methods|bench\/families)\/([^/]+)\//)?.[1];
// `deno task train` is an entry too: the MoE recipes train a method's gate.
const CLI_ENTRIES = [
  "bench/main.ts",
  "bench/results/write_catalog.ts",
  "bench/export_trec.ts",
  "datasets/train.ts",
];

/** The method a file of `methods/<family>/` belongs to: the method file its name starts with. */
function ownerOf(path: string, methodFiles: Set<string>): string | null {
  const dir = path.slice(0, path.lastIndexOf("/") + 1);
  const stem = path.slice(dir.length, -3);
  let best: string | null = null;
  for (const file of methodFiles) {
    if (!file.startsWith(dir)) continue;
    const candidate = file.slice(dir.length, -3);
    if (
      (stem === candidate || stem.startsWith(`${candidate}_`)) &&
      (!best || candidate.length > best.length)
    ) {
      best = candidate;
    }
  }
  return best === null ? null : dir + best;
}

/** Every layering rule an import of `from` → `to` breaks. */
function violations(from: string, to: string, methodFiles: Set<string>): string[] {
  const found: string[] = [];
  const fromFamily = familyOf(from);
  const toInternal = /^bench\/families\/[^/]+\/_/.test(to);
  if (from.startsWith("methods/") && to.startsWith("datasets/")) {
    found.push("methods never import datasets");
  }
  if (from.startsWith("datasets/") && to.startsWith("methods/") && !CLI_ENTRIES.includes(from)) {
    found.push("datasets never import methods");
  }
  if (
    toInternal && familyOf(to) !== fromFamily || toInternal && !from.startsWith("bench/families/")
  ) {
    found.push("a family's _internal files are imported only inside its package (use its mod.ts)");
  }
  if (from.startsWith("bench/families/") && /^(methods|datasets)\//.test(to)) {
    found.push("a family package never imports a method or a dataset");
  }
  if (
    // Tests of several methods (one family-wide GPU test, say) may name each of them.
    from.startsWith("methods/") && to.startsWith("methods/") && !from.endsWith("/mod.ts") &&
    !to.endsWith("/mod.ts") && !isTest(from)
  ) {
    const owner = ownerOf(from, methodFiles);
    if (owner === null || owner !== ownerOf(to, methodFiles)) {
      found.push("a method's files import no other method's files (share through the family)");
    }
  }
  if (
    from.startsWith("bench/") && !from.startsWith("bench/families/") && !isTest(from) &&
    !CLI_ENTRIES.includes(from) && /^(methods|datasets)\//.test(to)
  ) {
    found.push("the harness never imports methods or datasets (only the CLI entries see them)");
  }
  if (
    from.startsWith("server/") && to.startsWith("bench/") &&
    !(to.startsWith("bench/results/") || SERVER_MAY_READ.includes(to))
  ) {
    found.push("the server reads only the result schema, metadata and statistics of the harness");
  }
  return found;
}

/** Besides bench/results/: the metadata schema, and the statistics its comparisons share. */
const SERVER_MAY_READ = ["bench/metadata.ts", "bench/stats.ts", "bench/random.ts"];

Deno.test("every import follows the layering rules", () => {
  const files = sourceFiles();
  const texts = new Map(files.map((f) => [f, Deno.readTextFileSync(new URL(f, ROOT))]));
  const methodFiles = new Set(
    files.filter((f) =>
      f.startsWith("methods/") && !isTest(f) && /\bdefine\w*Method\s*[<(]/.test(texts.get(f)!)
    ),
  );
  const broken: string[] = [];
  for (const file of files) {
    for (const target of relativeImports(file, texts.get(file)!)) {
      for (const rule of violations(file, target, methodFiles)) {
        broken.push(`${file} → ${target}: ${rule}`);
      }
    }
  }
  assertEquals(broken, []);
});

Deno.test("only the CLI entries import both the method and the task registry", () => {
  const both = sourceFiles().filter((f) => {
    if (isTest(f)) return false;
    const imports = relativeImports(f, Deno.readTextFileSync(new URL(f, ROOT)));
    return imports.includes("methods/mod.ts") && imports.includes("datasets/mod.ts");
  });
  assertEquals(both.filter((f) => !CLI_ENTRIES.includes(f)), []);
});

Deno.test("relativeImports() finds static, re-exported and dynamic imports", () => {
  const text = [
    'import { a } from "./a.ts";',
    'import type { B } from "../b/b.ts";',
    'export { c } from "./c.ts";',
    'import "./side.ts";',
    'const d = await import("./d.ts");',
    'import { z } from "zod";',
  ].join("\n");
  assertEquals(relativeImports("methods/x/y.ts", text), [
    "methods/x/a.ts",
    "methods/b/b.ts",
    "methods/x/c.ts",
    "methods/x/side.ts",
    "methods/x/d.ts",
  ]);
});
