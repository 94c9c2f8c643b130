import { assert, assertAlmostEquals, assertEquals, assertRejects } from "../../tests/assert.ts";
import {
  batchCalibration,
  type Calibration,
  checkPruneTarget,
  noCalibration,
  pruneModel,
  removedUnits,
  shrunkMacsPerRow,
} from "../../bench/families/pruning/mod.ts";
import { Gpt } from "../../bench/nn/gpt.ts";
import { Mlp } from "../../bench/nn/mlp.ts";
import { mulberry32 } from "../../bench/random.ts";
import {
  distillationLoss,
  groupChannelPruning,
  groupRemovals,
  thresholdGroups,
  unitScores,
} from "./group_channel.ts";

function noise(n: number, seed: number): Float32Array {
  const u = mulberry32(seed);
  return Float32Array.from({ length: n }, () => 2 * u() - 1);
}

/** Calibration over `batches` batches of `rows` seeded inputs to an MLP. */
function mlpCalibration(model: Mlp, options: { batches: number; rows: number }): Calibration {
  const { batches, rows } = options, f = model.sizes[0];
  const x = noise(batches * rows * f, 31);
  const batch = (b: number) => x.subarray(b * rows * f, (b + 1) * rows * f);
  return batchCalibration({
    rows: batches * rows,
    batches,
    forward: (b) => void model.forward(batch(b), rows),
    backward: () => {
      throw new Error("group-channel uses its own loss");
    },
    logits: (b) => model.forward(batch(b), rows),
    backwardFrom: (d) => model.backward(d),
    parameters: () => model.parameters(),
  });
}

/** Calibration over batches of 2 seeded windows of 6 tokens to a GPT. */
function gptCalibration(model: Gpt, batches: number): Calibration {
  const u = mulberry32(5), seq = 6;
  const ids = Int32Array.from({ length: batches * 2 * seq }, () => Math.floor(u() * 11));
  const batch = (b: number) => ids.subarray(b * 2 * seq, (b + 1) * 2 * seq);
  return batchCalibration({
    rows: batches * 2 * seq,
    batches,
    forward: (b) => void model.forward(batch(b), 2),
    backward: () => {
      throw new Error("group-channel uses its own loss");
    },
    logits: (b) => model.forward(batch(b), 2),
    backwardFrom: (d) => model.backward(d),
    parameters: () => model.parameters(),
  });
}

function mlp(): Mlp {
  const model = new Mlp([12, 16, 8, 4]);
  model.init(3);
  return model;
}

/** A small GPT; GPT-2's init (std 0.02) gives near-uniform logits, so weights are scaled up. */
function gpt(): Gpt {
  const model = new Gpt({ vocab: 11, context: 6, dim: 8, heads: 4, layers: 3 });
  model.init(4);
  for (const l of model.linears()) l.weight.data.forEach((v, i, w) => w[i] = 20 * v);
  return model;
}

const PARAMS = { sparsity: "50%", epochs: 5, lr: 1e-2, temperature: 2, seed: 0 };

Deno.test("thresholdGroups() shares one threshold over every block's heads, one over their MLPs, none across an MLP's layers", () => {
  assertEquals(thresholdGroups(gpt().units()), [[0, 2, 4], [1, 3, 5]]);
  assertEquals(thresholdGroups(mlp().units()), [[0], [1]]);
});

Deno.test("groupRemovals() removes each threshold group's share at its lowest scores, never a unit group's last unit", () => {
  const groups = gpt().units();
  const heads = [[4, 3, 2, 1], [0.5, 0.6, 0.7, 0.8], [9, 9, 9, 9]].map((s) => Float64Array.from(s));
  const neurons = [0, 1, 2].map((b) => Float64Array.from({ length: 32 }, (_, i) => b * 100 + i));
  const scores = [heads[0], neurons[0], heads[1], neurons[1], heads[2], neurons[2]];
  const half = groupRemovals(groups, { scores, sparsity: 0.5 });
  // 6 of 12 heads: block 1's four (all below 1) would empty it, so it keeps its best, 0.8,
  // and block 0 loses its three lowest.
  assertEquals([...half[0]], [0, 1, 1, 1]);
  assertEquals([...half[2]], [1, 1, 1, 0]);
  assertEquals([...half[4]], [0, 0, 0, 0]);
  // 48 of 96 neurons: block 0's 32 and block 1's 16 lowest.
  assertEquals(half[1].reduce((n, r) => n + r, 0), 32 - 1, "block 0 keeps one neuron");
  assertEquals(half[3].reduce((n, r) => n + r, 0), 17);
  assertEquals(half[5].reduce((n, r) => n + r, 0), 0);
  for (const sparsity of [0.25, 0.5, 0.75]) {
    const removed = groupRemovals(groups, { scores, sparsity });
    for (const members of thresholdGroups(groups)) {
      const total = members.reduce((n, g) => n + groups[g].size, 0);
      const gone = members.reduce((n, g) => n + removed[g].reduce((a, r) => a + r, 0), 0);
      assertEquals(gone, Math.round(total * sparsity), `${sparsity}`);
    }
  }
});

Deno.test("unitScores() is ‖x_j‖·‖W[:, j]‖ for a neuron and ‖X_h·W_hᵀ‖ for a head", () => {
  const model = new Mlp([3, 2, 2]);
  model.layers[0].weight.data.set([1, 0, 0, 0, 1, 0]);
  model.layers[1].weight.data.set([3, 1, 4, 1]);
  const x = Float32Array.from([1, 2, 0, -1, 1, 0]);
  const [scores] = unitScores(model.units(), () => void model.forward(x, 2));
  // Hidden activations relu([1, 2]) and relu([-1, 1]): ‖x_0‖ = 1, ‖x_1‖ = √5; columns (3, 4), (1, 1).
  assertAlmostEquals(scores[0], 1 * 5, 1e-9);
  assertAlmostEquals(scores[1], Math.sqrt(5) * Math.SQRT2, 1e-9);

  const g = gpt(), ids = Int32Array.from([1, 2, 3, 4, 5, 6]);
  const proj = g.blocks[0].attn.proj;
  let input: Float32Array | null = null;
  proj.inputHooks.push((xs) => input ??= Float32Array.from(xs));
  const headScores = unitScores(g.units(), () => void g.forward(ids, 1))[0];
  const w = proj.weight.data, hd = 2;
  for (let h = 0; h < 4; h++) {
    let sq = 0;
    for (let r = 0; r < 6; r++) {
      for (let o = 0; o < 8; o++) {
        let y = 0;
        for (let c = h * hd; c < (h + 1) * hd; c++) y += input![r * 8 + c] * w[o * 8 + c];
        sq += y * y;
      }
    }
    assertAlmostEquals(headScores[h], Math.sqrt(sq), 1e-6);
  }
});

Deno.test("distillationLoss() is zero for the teacher's own logits and its gradient matches finite differences", () => {
  const teacher = noise(3 * 5, 1), student = noise(3 * 5, 2);
  const same = distillationLoss(teacher, { teacher, rows: 3, temperature: 2 });
  assertAlmostEquals(same.loss, 0, 1e-9);
  const { loss, dlogits } = distillationLoss(student, { teacher, rows: 3, temperature: 3 });
  assert(loss > 0);
  for (const i of [0, 4, 7, 14]) {
    const plus = Float32Array.from(student), minus = Float32Array.from(student);
    plus[i] += 1e-3;
    minus[i] -= 1e-3;
    const numeric = (distillationLoss(plus, { teacher, rows: 3, temperature: 3 }).loss -
      distillationLoss(minus, { teacher, rows: 3, temperature: 3 }).loss) / 2e-3;
    assertAlmostEquals(dlogits[i], numeric, 1e-4);
  }
});

Deno.test("group-channel prunes an MLP to each sparsity: the gate passes, distillation lowers the loss, removed units stay zero", async () => {
  for (const sparsity of ["25%", "50%", "75%"]) {
    const model = mlp();
    const calibration = mlpCalibration(model, { batches: 4, rows: 16 });
    const outcome = await pruneModel(groupChannelPruning, { ...PARAMS, sparsity }, {
      id: "test-mlp",
      model,
      calibration,
    });
    assert(outcome.targetCheck.passed, `${sparsity}: ${outcome.targetCheck.description}`);
    assert(checkPruneTarget(model, outcome.target).passed);
    const m = outcome.report.metrics!;
    assertEquals(m.distill_steps, 20);
    assertEquals(m.distill_rows, 20 * 16);
    assert(m.kd_loss_before > 0);
    assert(
      m.kd_loss_after < 0.7 * m.kd_loss_before,
      `${sparsity}: ${m.kd_loss_before} → ${m.kd_loss_after}`,
    );
    const share = Number(sparsity.slice(0, -1)) / 100;
    assertEquals(m.units_kept_fc1, 16 - Math.round(16 * share));
    assertEquals(m.units_kept_fc2, 8 - Math.round(8 * share));
    const macs = shrunkMacsPerRow(model);
    assertAlmostEquals(m.shrunk_macs_ratio, macs.shrunk / macs.dense, 1e-12);
    // Removed units: rows, bias entries and columns exactly zero after the Adam steps.
    for (const g of model.units()) {
      const removed = removedUnits(g);
      const producer = g.producers[0].layer, consumer = g.consumers[0].layer;
      removed.forEach((r, u) => {
        if (!r) return;
        assertEquals(producer.bias!.data[u], 0);
        for (let c = 0; c < producer.inFeatures; c++) {
          assertEquals(producer.weight.data[u * producer.inFeatures + c], 0);
        }
        for (let o = 0; o < consumer.outFeatures; o++) {
          assertEquals(consumer.weight.data[o * consumer.inFeatures + u], 0);
        }
      });
    }
  }
});

Deno.test("group-channel prunes a GPT's heads and MLP neurons, gate passed, and distils it", async () => {
  const model = gpt();
  const outcome = await pruneModel(groupChannelPruning, { ...PARAMS, epochs: 4, lr: 3e-3 }, {
    id: "test-gpt",
    model,
    calibration: gptCalibration(model, 3),
  });
  assert(outcome.targetCheck.passed, outcome.targetCheck.description);
  const m = outcome.report.metrics!;
  assertEquals(
    m.units_kept_blocks_0_attn + m.units_kept_blocks_1_attn + m.units_kept_blocks_2_attn,
    6,
  );
  assertEquals(
    m.units_kept_blocks_0_mlp + m.units_kept_blocks_1_mlp + m.units_kept_blocks_2_mlp,
    48,
  );
  assertEquals(m.threshold_groups, 2);
  assertEquals(m.distill_steps, 12);
  assert(m.kd_loss_after < 0.8 * m.kd_loss_before, `${m.kd_loss_before} → ${m.kd_loss_after}`);
});

Deno.test("group-channel with epochs 0 prunes without distilling, and is deterministic", async () => {
  const run = async (epochs: number) => {
    const model = mlp();
    const outcome = await pruneModel(groupChannelPruning, { ...PARAMS, epochs }, {
      id: "test-mlp",
      model,
      calibration: mlpCalibration(model, { batches: 3, rows: 8 }),
    });
    return { model, metrics: outcome.report.metrics! };
  };
  const none = await run(0);
  assertEquals(none.metrics.distill_steps, 0);
  assertEquals(none.metrics.kd_loss_after, none.metrics.kd_loss_before);
  const a = await run(2), b = await run(2);
  assertEquals(a.metrics, b.metrics);
  a.model.parameters().forEach((p, i) =>
    assertEquals([...p.data], [...b.model.parameters()[i].data])
  );
  // Same masks with or without distillation: the scores come from the dense model.
  none.model.linears().forEach((l, i) =>
    assertEquals([...l.weight.mask!], [...a.model.linears()[i].weight.mask!])
  );
});

Deno.test("group-channel refuses a model without units and calibration without batches", async () => {
  const model = mlp();
  await assertRejects(
    () =>
      groupChannelPruning.impl.prune(
        { id: "bare", linears: () => model.linears(), parameters: () => model.parameters() },
        mlpCalibration(model, { batches: 1, rows: 4 }),
        { pattern: "structured", sparsity: 0.5 },
        PARAMS,
      ),
    Error,
    "lists no units",
  );
  await assertRejects(
    () =>
      pruneModel(groupChannelPruning, PARAMS, { id: "m", model, calibration: noCalibration("x") }),
    Error,
    "needs calibration batches",
  );
});

Deno.test("distill() keeps the epoch of lowest loss: an overshooting learning rate leaves the pruned model as it was", async () => {
  const model = mlp();
  const outcome = await pruneModel(groupChannelPruning, { ...PARAMS, sparsity: "25%", lr: 0.1 }, {
    id: "test-mlp",
    model,
    calibration: mlpCalibration(model, { batches: 4, rows: 16 }),
  });
  const m = outcome.report.metrics!;
  assert(m.kd_loss_after <= m.kd_loss_before);
  const reference = mlp();
  const calibration = mlpCalibration(reference, { batches: 4, rows: 16 });
  await pruneModel(groupChannelPruning, { ...PARAMS, sparsity: "25%", epochs: 0 }, {
    id: "test-mlp",
    model: reference,
    calibration,
  });
  assertEquals(m.distill_best_epoch, 0, "every epoch overshoots");
  model.parameters().forEach((p, i) =>
    assertEquals([...p.data], [...reference.parameters()[i].data], p.name)
  );
  assert(outcome.targetCheck.passed);
});
