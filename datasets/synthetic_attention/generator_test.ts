import { assert, assertEquals } from "../../tests/assert.ts";
import { sha256Hex } from "../../bench/random.ts";
import { attentionFidelity } from "./attention_fidelity.ts";
import {
  DEFAULT_STRUCTURE,
  generateAttentionInputs,
  PINNED_SAMPLE,
  structureSeed,
} from "./generator.ts";
import { attendRow, denseKeys } from "../../bench/families/attention/mod.ts";

Deno.test("the generator reproduces the sha256 pinned in the task's metadata", async () => {
  const inputs = generateAttentionInputs(PINNED_SAMPLE.shape, PINNED_SAMPLE.seed);
  assertEquals(
    await sha256Hex(inputs.q, inputs.k, inputs.v),
    attentionFidelity.meta.dataset.sha256,
  );
});

Deno.test("generated heads have sinks: the first keys draw real mass from late queries", () => {
  const shape = { heads: 2, seq: 512, headDim: 64, causal: true };
  const inputs = generateAttentionInputs(shape, 1);
  let sinkMass = 0;
  let localMass = 0;
  const rows = [300, 400, 511];
  for (const row of rows) {
    const { weights } = attendRow(shape, inputs, { head: 0, row, keys: denseKeys(shape, row) });
    sinkMass += weights.slice(0, 4).reduce((a, b) => a + b, 0) / rows.length;
    localMass += weights.slice(row - 15, row + 1).reduce((a, b) => a + b, 0) / rows.length;
  }
  assert(sinkMass > 0.1, `sink mass ${sinkMass}`);
  assert(localMass > 0.1, `local mass ${localMass}`);
  assert(sinkMass + localMass < 0.95, "and the rest of the context still matters");
});

/**
 * How well ‖k‖₁ alone tells the planted keys (sinks and far tokens) from the rest: the area under
 * the ROC curve of ranking all keys by ‖k‖₁ (0.5 is chance, 1 ranks every planted key first).
 */
function plantedKeyAuc(keyNorms: "planted" | "randomized", seed: number): number {
  const shape = { heads: 8, seq: 2048, headDim: 64, causal: true };
  const inputs = generateAttentionInputs(shape, seed, { ...DEFAULT_STRUCTURE, keyNorms });
  const { seq, headDim: d } = shape;
  let pairs = 0;
  let wins = 0;
  for (let h = 0; h < shape.heads; h++) {
    const l1 = Array.from({ length: seq }, (_, t) => {
      let s = 0;
      for (let i = 0; i < d; i++) s += Math.abs(inputs.k[(h * seq + t) * d + i]);
      return s;
    });
    const planted = plantedPositions(shape, seed, h);
    const positives = [...planted].map((t) => l1[t]);
    const negatives = l1.filter((_, t) => !planted.has(t));
    for (const p of positives) {
      for (const n of negatives) {
        pairs++;
        wins += p > n ? 1 : p === n ? 0.5 : 0;
      }
    }
  }
  return wins / pairs;
}

/**
 * The sink and far-token positions of head `h`: the keys that still have a component when the
 * same seed is generated without noise or locality (the generator's draws do not depend on
 * those amounts, so the positions are the same).
 */
function plantedPositions(
  shape: { heads: number; seq: number; headDim: number; causal: boolean },
  seed: number,
  h: number,
): Set<number> {
  // Without noise and locality, only sinks and far keys have any key component.
  const bare = generateAttentionInputs(shape, seed, {
    ...DEFAULT_STRUCTURE,
    noise: 0,
    localLogit: 0,
    keyNorms: "planted",
  });
  const { seq, headDim: d } = shape;
  const planted = new Set<number>();
  for (let t = 0; t < seq; t++) {
    let s = 0;
    for (let i = 0; i < d; i++) s += Math.abs(bare.k[(h * seq + t) * d + i]);
    if (s > 1e-6) planted.add(t);
  }
  return planted;
}

Deno.test("randomized key norms carry no information about the planted keys; planted ones do", () => {
  for (const seed of [1, 2]) {
    // 8 heads × (4 sinks + up to 8 far keys) against ~16,300 others: the AUC of a norm that says
    // nothing has a standard deviation of about 0.03, so 0.1 is more than three of them.
    const randomized = plantedKeyAuc("randomized", seed);
    assert(Math.abs(randomized - 0.5) < 0.1, `randomized AUC ${randomized} (seed ${seed})`);
    const planted = plantedKeyAuc("planted", seed);
    assert(planted > 0.95, `planted AUC ${planted} (seed ${seed})`);
  }
});

Deno.test("randomized key norms keep the planted structure in the directions", async () => {
  const shape = { heads: 4, seq: 2048, headDim: 64, causal: true };
  const sinkMass = (keyNorms: "planted" | "randomized") => {
    const inputs = generateAttentionInputs(shape, 1, { ...DEFAULT_STRUCTURE, keyNorms });
    let mass = 0;
    for (let head = 0; head < shape.heads; head++) {
      for (const row of [1228, 1638, 2047]) {
        const { weights } = attendRow(shape, inputs, { head, row, keys: denseKeys(shape, row) });
        mass += weights.slice(0, 4).reduce((a, b) => a + b, 0) / (3 * shape.heads);
      }
    }
    return mass;
  };
  // Sinks keep most of their share of a late row's mass (0.22 planted, 0.18 randomized measured).
  const planted = sinkMass("planted");
  const randomized = sinkMass("randomized");
  assert(planted > 0.1, `planted sink mass ${planted}`);
  assert(randomized > 0.6 * planted && randomized < 1.5 * planted, `randomized ${randomized}`);
  // Planted inputs are exactly what the generator made before norms could be randomized (the
  // sha256 pinned by dataset version 1.0.0): the norm draws come from their own stream.
  const pinned = generateAttentionInputs(PINNED_SAMPLE.shape, PINNED_SAMPLE.seed, {
    ...DEFAULT_STRUCTURE,
    keyNorms: "planted",
  });
  assertEquals(
    await sha256Hex(pinned.q, pinned.k, pinned.v),
    "f3d3882aeaeb5da485ac05f4dbdd6e595b4a939c458382482a2e8ef4fb5922c3",
  );
});

Deno.test("a shape's planted and randomized cases share a seed, and their keys only differ in length", () => {
  const planted = { seq: 64, heads: 2, headDim: 16, causal: true, keyNorms: "planted" };
  assertEquals(structureSeed(7, planted), structureSeed(7, { ...planted, keyNorms: "randomized" }));
  assert(structureSeed(7, planted) !== structureSeed(7, { ...planted, seq: 65 }));
  assert(structureSeed(7, planted) !== structureSeed(8, planted));
  const shape = { heads: 2, seq: 64, headDim: 16, causal: true };
  const a = generateAttentionInputs(shape, 5, { ...DEFAULT_STRUCTURE, keyNorms: "planted" });
  const b = generateAttentionInputs(shape, 5, { ...DEFAULT_STRUCTURE, keyNorms: "randomized" });
  assertEquals(a.v, b.v);
  const d = shape.headDim;
  let lengthChanged = 0;
  for (let t = 0; t < shape.heads * shape.seq; t++) {
    let dot = 0, na = 0, nb = 0;
    for (let i = 0; i < d; i++) {
      dot += a.k[t * d + i] * b.k[t * d + i];
      na += a.k[t * d + i] ** 2;
      nb += b.k[t * d + i] ** 2;
    }
    assert(dot / Math.sqrt(na * nb) > 1 - 1e-5, `key ${t} keeps its direction`);
    if (Math.abs(Math.sqrt(nb / na) - 1) > 0.01) lengthChanged++;
  }
  assert(lengthChanged > shape.heads * shape.seq * 0.8, `${lengthChanged} keys changed length`);
});
