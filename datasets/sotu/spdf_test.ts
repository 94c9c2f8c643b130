import { assert, assertEquals } from "../../tests/assert.ts";
import { Gpt } from "../../bench/nn/gpt.ts";
import { denseFineTune, SPDF_RECIPE, splitTarget } from "./spdf.ts";

Deno.test("splitTarget() cuts at the share, moved forward off a UTF-8 continuation byte", () => {
  // "aé" + "bcdefgh": é is two bytes (0xc3 0xa9), bytes 1 and 2.
  const bytes = new TextEncoder().encode("aébcdefgh");
  assertEquals(bytes.length, 10);
  const { train, heldOut } = splitTarget(bytes, 0.2); // cut 2 falls inside é
  assertEquals(train.length, 3);
  assertEquals(new TextDecoder().decode(heldOut), "bcdefgh");
  assertEquals(splitTarget(bytes, 0.5).train.length, 5);
});

Deno.test("denseFineTune() frees every masked weight: pruned ones leave zero", () => {
  const model = new Gpt({ vocab: 256, context: 8, dim: 8, heads: 2, layers: 1 });
  model.init(1);
  const fc = model.blocks[0].fc.weight;
  fc.setMask(Float32Array.from({ length: fc.size }, (_, i) => i % 2));
  assert(fc.data.every((v, i) => i % 2 === 1 || v === 0));
  const text = Uint8Array.from({ length: 400 }, (_, i) => 97 + (i * 7) % 26);
  const { losses } = denseFineTune(model, text, { ...SPDF_RECIPE, steps: 3, batch: 2, warmup: 1 });
  assertEquals(losses.length, 3);
  assertEquals(fc.mask, null);
  assert(fc.data.some((v, i) => i % 2 === 0 && v !== 0), "a pruned weight stayed at zero");
});
