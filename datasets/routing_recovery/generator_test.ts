// The routing-recovery generator: reproducible, regions of equal mass, no feature that is the region.
import { assert, assertEquals } from "../../tests/assert.ts";
import {
  generateRoutingRecovery,
  regionOf,
  ROUTING_RECOVERY_SHAPE,
  routingRecoveryTruth,
} from "./generator.ts";

Deno.test("generateRoutingRecovery() is deterministic and its splits differ", () => {
  const a = generateRoutingRecovery("test"), b = generateRoutingRecovery("test");
  assertEquals(a.x, b.x);
  assertEquals(a.y, b.y);
  const train = generateRoutingRecovery("train");
  assert(train.x[0] !== a.x[0]);
});

Deno.test("the directions are orthonormal and the 8 regions hold about an eighth each", () => {
  const { inputs, directions } = ROUTING_RECOVERY_SHAPE;
  const truth = routingRecoveryTruth();
  for (let i = 0; i < directions; i++) {
    for (let j = 0; j < directions; j++) {
      let dot = 0;
      for (let q = 0; q < inputs; q++) {
        dot += truth.directions[i * inputs + q] * truth.directions[j * inputs + q];
      }
      assert(Math.abs(dot - (i === j ? 1 : 0)) < 1e-12, `u${i}·u${j} = ${dot}`);
    }
  }
  const train = generateRoutingRecovery("train");
  const counts = new Array(8).fill(0);
  for (const r of train.region) counts[r]++;
  // Binomial(16384, 1/8): sd ≈ 42; 5 sd either side.
  for (const c of counts) assert(Math.abs(c - 2048) < 212, `region sizes ${counts}`);
  for (let p = 0; p < 50; p++) assertEquals(regionOf(truth, train.x, p * inputs), train.region[p]);
});

Deno.test("no single input feature reveals the region", () => {
  // The best one-feature threshold rule for any region bit gets far from it: every direction
  // spreads over several coordinates after the random rotation.
  const { inputs } = ROUTING_RECOVERY_SHAPE;
  const truth = routingRecoveryTruth();
  for (let j = 0; j < 3; j++) {
    let largest = 0;
    for (let i = 0; i < inputs; i++) {
      largest = Math.max(largest, Math.abs(truth.directions[j * inputs + i]));
    }
    // A sign rule on one coordinate agrees with bit j with probability ½ + asin(|uᵢ|)/π.
    assert(0.5 + Math.asin(largest) / Math.PI < 0.9, `direction ${j}: largest weight ${largest}`);
  }
});

Deno.test("targets follow their region's regression within the noise", () => {
  const { inputs, noise } = ROUTING_RECOVERY_SHAPE;
  const truth = routingRecoveryTruth(), set = generateRoutingRecovery("validation");
  let sq = 0;
  for (let p = 0; p < set.count; p++) {
    const r = set.region[p];
    let pred = truth.intercepts[r];
    for (let i = 0; i < inputs; i++) pred += truth.slopes[r * inputs + i] * set.x[p * inputs + i];
    sq += (set.y[p] - pred) ** 2;
  }
  const mse = sq / set.count;
  assert(Math.abs(mse - noise * noise) < 0.002, `residual variance ${mse}`);
});

Deno.test("the voronoi partition: the same inputs, each point in its nearest centre's region, all 8 used", () => {
  const { inputs } = ROUTING_RECOVERY_SHAPE;
  const sign = generateRoutingRecovery("test"),
    voronoi = generateRoutingRecovery("test", "voronoi");
  assertEquals(voronoi.x, sign.x);
  const truth = routingRecoveryTruth("voronoi");
  const counts = new Array(8).fill(0);
  for (let p = 0; p < voronoi.count; p++) {
    const r = voronoi.region[p];
    counts[r]++;
    const dist = (c: number) => {
      let d = 0;
      for (let i = 0; i < inputs; i++) {
        d += (voronoi.x[p * inputs + i] - truth.directions[c * inputs + i]) ** 2;
      }
      return d;
    };
    for (let c = 0; c < 8; c++) assert(dist(r) <= dist(c));
  }
  for (const c of counts) assert(c > 100, `region sizes ${counts}`);
});
