import { assertEquals } from "../../tests/assert.ts";
import { sinkWindowKeys } from "./sink_window.ts";

Deno.test("sinkWindowKeys() adds the sinks before the band without repeating keys", () => {
  const shape = { heads: 1, seq: 20, headDim: 4, causal: true };
  assertEquals([...sinkWindowKeys(shape, { window: 3, sinks: 2 }, 10)], [0, 1, 8, 9, 10]);
  assertEquals([...sinkWindowKeys(shape, { window: 3, sinks: 2 }, 2)], [0, 1, 2]);
  assertEquals([...sinkWindowKeys(shape, { window: 3, sinks: 0 }, 10)], [8, 9, 10]);
});
