import { assertEquals } from "../../tests/assert.ts";
import { ProtoWriter } from "./protobuf.ts";

Deno.test("ProtoWriter encodes varints, strings and nested messages as protobuf does", () => {
  // Field 1 varint 150 → 08 96 01 (the protobuf documentation's example).
  assertEquals([...new ProtoWriter().int(1, 150).finish()], [0x08, 0x96, 0x01]);
  // Field 2 string "testing" → 12 07 74 65 73 74 69 6e 67.
  assertEquals([...new ProtoWriter().string(2, "testing").finish()], [
    0x12,
    0x07,
    0x74,
    0x65,
    0x73,
    0x74,
    0x69,
    0x6e,
    0x67,
  ]);
  // Field 3 embedded message {1: 150} → 1a 03 08 96 01.
  assertEquals([...new ProtoWriter().message(3, new ProtoWriter().int(1, 150)).finish()], [
    0x1a,
    0x03,
    0x08,
    0x96,
    0x01,
  ]);
  // Negative int64 -1 is ten bytes of two's complement.
  assertEquals(new ProtoWriter().int(1, -1).finish().length, 11);
});
