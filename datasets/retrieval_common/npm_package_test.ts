import { assertRejects } from "../../tests/assert.ts";
import { pinnedPackageDir, PinnedPackageError, readPinnedFile } from "./npm_package.ts";

Deno.test("pinnedPackageDir() names the package when it cannot be loaded", async () => {
  await assertRejects(
    () =>
      pinnedPackageDir(
        "no-such-package",
        "1.0.0",
        () => Promise.reject(new Error("not found")),
        () => "",
      ),
    PinnedPackageError,
    "npm package 'no-such-package@1.0.0' is not available",
  );
});

Deno.test("readPinnedFile() refuses a file whose sha256 differs from the pin", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/a.txt`, "hello");
    await assertRejects(
      () => readPinnedFile("pkg", dir, "a.txt", "0".repeat(64)),
      PinnedPackageError,
      "'a.txt' has sha256 2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824",
    );
    await readPinnedFile(
      "pkg",
      dir,
      "a.txt",
      "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824",
    );
    await assertRejects(
      () => readPinnedFile("pkg", dir, "b.txt", "0".repeat(64)),
      PinnedPackageError,
      "lacks 'b.txt'",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
