// The boundary predictor's shared pieces: attention-shift labels on hand-made heads, and the
// logistic fit on samples whose answer is known.
import { assert, assertAlmostEquals, assertEquals, assertThrows } from "../../../tests/assert.ts";
import { mulberry32, normal } from "../../random.ts";
import { attentionShifts, fitLogistic } from "./mod.ts";

Deno.test("attentionShifts() is 0 between keys the rows attend alike, near 1 between disjoint ones", () => {
  // One head, d = 4: keys 0–3 along axis 0, keys 4–7 along axis 1; queries 0–3 seek axis 0 and
  // queries 4–7 axis 1, strongly. Non-causal, so every row sees every key.
  const shape = { heads: 1, seq: 8, headDim: 4, causal: false };
  const q = new Float32Array(32);
  const k = new Float32Array(32);
  for (let t = 0; t < 8; t++) {
    k[t * 4 + (t < 4 ? 0 : 1)] = 1;
    q[t * 4 + (t < 4 ? 0 : 1)] = 40;
  }
  const [shifts] = attentionShifts(shape, { q, k, v: new Float32Array(32) });
  assertEquals(shifts[0], 0);
  for (const t of [1, 2, 3, 5, 6, 7]) assertAlmostEquals(shifts[t], 0, 1e-12);
  assert(shifts[4] > 0.99, `shift at the boundary ${shifts[4]}`);
});

Deno.test("fitLogistic() finds the separating direction, the same weights every time", () => {
  const gauss = normal(mulberry32(3));
  const m = 400;
  const n = 4;
  const x = new Float64Array(m * n);
  const y = new Uint8Array(m);
  for (let i = 0; i < m; i++) {
    const a = gauss();
    const b = 5 * gauss();
    x.set([a, b, 2 + gauss(), 1], i * n);
    // Feature 0 decides (with some label noise); features 1 and 2 are noise, 2 is off-centre.
    y[i] = a + 0.3 * gauss() > 0.5 ? 1 : 0;
  }
  const fit = fitLogistic(x, y, n);
  const [w0, w1, w2, bias] = fit.weights;
  assert(w0 > 2, `weight on the deciding feature ${w0}`);
  assert(Math.abs(w1) < 0.2 * w0 && Math.abs(w2) < 0.2 * w0, `noise weights ${w1}, ${w2}`);
  // The boundary w0·a + bias = 0 sits near a = 0.5.
  assertAlmostEquals(-bias / w0, 0.5, 0.2);
  assertEquals(Array.from(fitLogistic(x, y, n).weights), Array.from(fit.weights));
});

Deno.test("fitLogistic() gives a one-class set a constant answer and refuses a wrong shape", () => {
  const x = Float64Array.from([1, 1, 2, 1]);
  const none = fitLogistic(x, Uint8Array.from([0, 0]), 2);
  assert(none.weights[1] < -10 && none.weights[0] === 0);
  assertThrows(
    () => fitLogistic(x, Uint8Array.from([0, 1, 1]), 2),
    RangeError,
    "expected 3 samples × 2 features",
  );
});
