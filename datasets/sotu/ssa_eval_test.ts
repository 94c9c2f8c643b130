import { assert, assertAlmostEquals, assertEquals } from "../../tests/assert.ts";
import { evaluateSsa, type SsaEvalModel, ssaTable } from "./ssa_eval.ts";
import { shortLmModel, SOTU_LM_SHORT_RECIPE } from "./train_sotu_lm_short.ts";

function tinyModel(name: string, seed: number): SsaEvalModel {
  const { model, attention } = shortLmModel({
    ...SOTU_LM_SHORT_RECIPE,
    model: { vocab: 256, context: 16, dim: 16, heads: 2, layers: 2 },
    sparse: { blockSize: 4, blocks: 2 },
  });
  model.init(seed);
  // Larger attention weights than GPT-2's init, so the budgets drop visible mass.
  for (const a of attention) for (let i = 0; i < a.qkv.weight.size; i++) a.qkv.weight.data[i] *= 40;
  return { name, model, attention };
}

Deno.test("evaluateSsa() scores each model and mode, and a budget of every block is full attention", async () => {
  const text = new TextEncoder().encode(
    "Fellow citizens, the state of the Union is strong; café déjà vu. ".repeat(12),
  );
  const result = await evaluateSsa({
    models: [tinyModel("a", 1), tinyModel("b", 2)],
    texts: [{ name: "t", bytes: text }],
    budgets: [1, 4],
    bytes: 600,
    log: () => {},
  });
  assertEquals(result.rows.length, 2 * 3);
  for (const name of ["a", "b"]) {
    const of = (mode: string) => result.rows.find((r) => r.model === name && r.mode === mode)!;
    // Four blocks of four at context 16: budget 4 keeps them all.
    assertEquals(of("sparse@4").bitsPerChar, of("full").bitsPerChar);
    assert(of("sparse@1").bitsPerChar !== of("full").bitsPerChar, "budget 1 changed nothing");
    assert(of("sparse@1").density < 1 && of("sparse@4").density === 1, "densities");
    const [one, all] = result.dropped.filter((d) => d.model === name);
    assert(
      one.selected > 0 && one.selected < 1 && one.oracle <= one.selected,
      `dropped ${one.selected}`,
    );
    assert(one.selectedCi95[0] <= one.selected && one.selected <= one.selectedCi95[1], "interval");
    assertEquals([all.selected, all.oracle], [0, 0]);
  }
  const pair = result.pairs.find((p) => p.mode === "full")!;
  const full = (m: string) =>
    result.rows.find((r) => r.model === m && r.mode === "full")!.bitsPerChar;
  assertAlmostEquals(pair.difference, full("b") - full("a"), 1e-9);
  assert(ssaTable(result).includes("| a | t |"), "table");
});
