// The leaderboard's speed-up against the fastest dense engine: shown with its interval and the
// engine beside the speed-up, raw in the CSV, a dash where the run file has none.
import { assertEquals, assertStringIncludes } from "../tests/assert.ts";
import type { Row } from "./aggregate.ts";
import { COLUMNS, toCsv } from "./columns.ts";

function rowWith(fastest: Partial<Row>): Row {
  return {
    taskId: "attention-fidelity",
    speedup: 4,
    speedupCi: [3.5, 4.5],
    speedupVsFastestDense: null,
    speedupVsFastestDenseCi: null,
    fastestDenseMethod: null,
    ...fastest,
  } as Row;
}

Deno.test("the leaderboard shows the speed-up against the fastest dense engine beside the speed-up", () => {
  const keys = COLUMNS.map((c) => c.key);
  assertEquals(keys.indexOf("speedup_vs_fastest_dense"), keys.indexOf("speedup") + 1);
  const column = COLUMNS.find((c) => c.key === "speedup_vs_fastest_dense")!;
  const row = rowWith({
    speedupVsFastestDense: 2,
    speedupVsFastestDenseCi: [1.8, 2.2],
    fastestDenseMethod: "ort-wasm-dense-attention",
  });
  assertStringIncludes(column.text(row), "(ort-wasm-dense-attention)");
  assertStringIncludes(column.text(row), "×2");
  assertEquals(column.text(rowWith({})), "—");
  assertEquals(column.sortValue(row), 2);
  const [header, line] = toCsv([row]).split("\r\n");
  const fields = header.split(",");
  const values = line.split(",");
  assertEquals(values[fields.indexOf("speedup_vs_fastest_dense")], "2");
  assertEquals(values[fields.indexOf("fastest_dense_method")], "ort-wasm-dense-attention");
  assertEquals(values[fields.indexOf("speedup_vs_fastest_dense_ci95_low")], "1.8");
});
