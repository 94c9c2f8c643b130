// The auction's assignment against exhaustive search on small problems, and its balance.
import { assert, assertEquals, assertThrows } from "../../../tests/assert.ts";
import { mulberry32 } from "../../random.ts";
import { balancedAssignment } from "./_assignment.ts";

/** The best total score over every assignment within capacity (exhaustive). */
function bestTotal(scores: Float64Array, tokens: number, experts: number, capacity: number) {
  const fill = new Int32Array(experts);
  let best = -Infinity;
  const walk = (t: number, total: number) => {
    if (t === tokens) {
      best = Math.max(best, total);
      return;
    }
    for (let e = 0; e < experts; e++) {
      if (fill[e] >= capacity) continue;
      fill[e]++;
      walk(t + 1, total + scores[t * experts + e]);
      fill[e]--;
    }
  };
  walk(0, 0);
  return best;
}

Deno.test("balancedAssignment() reaches the exhaustive optimum within capacity", () => {
  const rand = mulberry32(7);
  const shapes = [
    { tokens: 1, experts: 1, capacity: 1 },
    { tokens: 5, experts: 3, capacity: 2 },
    { tokens: 6, experts: 3, capacity: 2 },
    { tokens: 7, experts: 2, capacity: 4 },
    { tokens: 8, experts: 4, capacity: 2 },
    { tokens: 6, experts: 6, capacity: 1 },
  ];
  for (const shape of shapes) {
    for (let trial = 0; trial < 5; trial++) {
      const { tokens, experts, capacity } = shape;
      // Scores with ties (rounded) in some trials: the auction must still be optimal.
      const scores = Float64Array.from(
        { length: tokens * experts },
        () => trial % 2 ? Math.round(rand() * 4) : rand() * 10 - 5,
      );
      const a = balancedAssignment(scores, shape);
      const fill = new Int32Array(experts);
      let total = 0;
      for (let t = 0; t < tokens; t++) {
        fill[a[t]]++;
        total += scores[t * experts + a[t]];
      }
      for (const f of fill) assert(f <= capacity, `${JSON.stringify(shape)}: loads ${fill}`);
      const best = bestTotal(scores, tokens, experts, capacity);
      assert(Math.abs(total - best) < 1e-5, `${JSON.stringify(shape)}: ${total} vs best ${best}`);
    }
  }
});

Deno.test("balancedAssignment() balances a batch where every token prefers one expert", () => {
  const tokens = 256, experts = 8, scores = new Float64Array(tokens * experts);
  for (let t = 0; t < tokens; t++) {
    for (let e = 0; e < experts; e++) scores[t * experts + e] = e === 0 ? 5 + t / tokens : e / 10;
  }
  const a = balancedAssignment(scores, { tokens, experts, capacity: 32 });
  const fill = new Int32Array(experts);
  for (const e of a) fill[e]++;
  assertEquals([...fill], new Array(8).fill(32));
  // Expert 0 keeps the 32 tokens that value it most (the last ones).
  for (let t = tokens - 32; t < tokens; t++) assertEquals(a[t], 0);
});

Deno.test("balancedAssignment() refuses more tokens than slots and non-finite scores", () => {
  assertThrows(
    () => balancedAssignment(new Float64Array(6), { tokens: 3, experts: 2, capacity: 1 }),
    RangeError,
  );
  assertThrows(
    () => balancedAssignment(Float64Array.from([NaN, 1]), { tokens: 1, experts: 2, capacity: 1 }),
    RangeError,
  );
});
