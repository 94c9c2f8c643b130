import { assertEquals } from "../../tests/assert.ts";
import { flopsRealized } from "./summary_table.ts";

Deno.test("flopsRealized(): speed-up over the FLOPs reduction, only where work fell", () => {
  // A tenth of the FLOPs and ×5 faster: half the reduction realized.
  assertEquals(flopsRealized(5, 0.1), 0.5);
  assertEquals(flopsRealized(12, 0.1), 1.2000000000000002);
  assertEquals(flopsRealized(0.5, 2), null);
  assertEquals(flopsRealized(null, 0.1), null);
  assertEquals(flopsRealized(3, null), null);
});
