import { assert, assertThrows } from "../../../tests/assert.ts";
import { softmaxCrossEntropy } from "../../nn/layers.ts";
import { mulberry32 } from "../../random.ts";
import { AdapterNet, adapterNetReference, type AdapterScope } from "./mod.ts";

/** A seeded net of odd sizes with every tensor nonzero (up projections included). */
function seededNet(backbone: number[], bottleneck: number): AdapterNet {
  const net = new AdapterNet({ backbone, bottleneck, classes: 3 });
  net.init(7);
  const u = mulberry32(backbone.length * 31 + bottleneck);
  for (const p of [...net.backboneParameters(), ...net.adapterParameters()]) {
    for (let i = 0; i < p.size; i++) p.data[i] = (u() - 0.5) * 0.8;
  }
  return net;
}

Deno.test("AdapterNet.forward() matches its float64 reference on odd shapes", () => {
  for (
    const [sizes, r, rows] of [[[5, 7, 3], 2, 3], [[9, 4, 6], 0, 1], [[13, 11, 5], 5, 17]] as const
  ) {
    const net = seededNet([...sizes], r);
    const u = mulberry32(rows);
    const x = Float32Array.from({ length: rows * sizes[0] }, () => u());
    const got = net.forward(x, rows), want = adapterNetReference(net, x, rows);
    for (let i = 0; i < want.length; i++) {
      assert(Math.abs(got[i] - want[i]) <= 1e-5 + 1e-5 * Math.abs(want[i]), `${sizes} ${i}`);
    }
  }
});

Deno.test("AdapterNet.backward() matches finite differences for every scope's tensors", () => {
  const scopes: [AdapterScope, number][] = [["adapter", 3], ["head", 0], ["all", 0]];
  for (const [scope, r] of scopes) {
    const net = seededNet([6, 5, 4], r), rows = 3;
    const u = mulberry32(42);
    const x = Float32Array.from({ length: rows * 6 }, () => u());
    const y = Int32Array.from([0, 2, 1]);
    const loss = () => softmaxCrossEntropy(net.forward(x, rows), y).loss;
    const params = scope === "all"
      ? [...net.backboneParameters(), ...net.head.parameters()]
      : scope === "adapter"
      ? [...net.adapterParameters(), ...net.head.parameters()]
      : net.head.parameters();
    for (const p of params) p.grad.fill(0);
    net.backward(softmaxCrossEntropy(net.forward(x, rows), y).dlogits, scope);
    for (const p of params) {
      for (const i of [0, Math.floor(p.size / 2), p.size - 1]) {
        const keep = p.data[i], h = 1e-2;
        p.data[i] = keep + h;
        const up = loss();
        p.data[i] = keep - h;
        const down = loss();
        p.data[i] = keep;
        const numeric = (up - down) / (2 * h);
        assert(
          Math.abs(numeric - p.grad[i]) <= 2e-3 + 2e-2 * Math.abs(numeric),
          `${scope} ${p.name}[${i}]: analytic ${p.grad[i]}, numeric ${numeric}`,
        );
      }
    }
  }
});

Deno.test("AdapterNet refuses a bad bottleneck with a clear message", () => {
  assertThrows(
    () => new AdapterNet({ backbone: [4, 3], bottleneck: 1.5, classes: 2 }),
    RangeError,
    "'bottleneck' must be a non-negative integer",
  );
});
