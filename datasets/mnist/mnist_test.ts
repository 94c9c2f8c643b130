import {
  assert,
  assertEquals,
  assertRejects,
  assertStringIncludes,
  assertThrows,
} from "../../tests/assert.ts";
import { sha256Hex } from "../../bench/random.ts";
import { DatasetUnavailableError, readPinnedFile } from "../pinned_files.ts";
import { imagesAsFloat, imageSetOf, parseIdx } from "./idx.ts";
import { loadMnist, MNIST_FILES } from "./mnist.ts";

function idx(dims: number[], values: number[]): Uint8Array {
  const out = new Uint8Array(4 + 4 * dims.length + values.length);
  const view = new DataView(out.buffer);
  out[2] = 0x08;
  out[3] = dims.length;
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d));
  out.set(values, 4 + 4 * dims.length);
  return out;
}

Deno.test("parseIdx() reads dims and values and refuses bad files", () => {
  const parsed = parseIdx(idx([2, 1, 2], [1, 2, 3, 4]), "t");
  assertEquals(parsed.dims, [2, 1, 2]);
  assertEquals([...parsed.data], [1, 2, 3, 4]);
  assertThrows(() => parseIdx(idx([3], [1, 2]), "short"), Error, "should hold");
  assertThrows(() => parseIdx(new Uint8Array([0, 0, 0x0d, 1]), "floats"), Error, "not an IDX file");
  const set = imageSetOf(idx([2, 1, 2], [0, 255, 51, 0]), idx([2], [7, 3]), "x", "t");
  assertEquals(set.count, 2);
  assertEquals([...imagesAsFloat(set, 1)], [Math.fround(0.2), 0]);
});

Deno.test("readPinnedFile() names the source and the install command on a mismatch or a missing file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/f`, "abc");
    const good = await sha256Hex(new TextEncoder().encode("abc"));
    assertEquals(new TextDecoder().decode(await readPinnedFile(`${dir}/f`, good, "pkg")), "abc");
    const e = await assertRejects(
      () => readPinnedFile(`${dir}/f`, "0".repeat(64), "Debian package x", "apt-get install x"),
      DatasetUnavailableError,
    );
    assertStringIncludes(e.message, "apt-get install x");
    assertStringIncludes(e.message, "Debian package x");
    await assertRejects(
      () => readPinnedFile(`${dir}/missing`, good, "npm y@1.0.0"),
      DatasetUnavailableError,
      "npm y@1.0.0",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadMnist() gives the pinned 60,000 / 10,000 images", async () => {
  const train = await loadMnist("train"), test = await loadMnist("test");
  assertEquals([train.count, test.count, test.rows, test.cols], [60000, 10000, 28, 28]);
  assertEquals([...test.labels.subarray(0, 10)], [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]);
  assertEquals([...train.labels.subarray(0, 5)], [5, 0, 4, 1, 9]);
  assert(test.sha256 !== train.sha256);
  assertEquals(MNIST_FILES.test.images[0], "t10k-images-idx3-ubyte");
});
