// Uses a stub trainer: the cheapest real recipe (a routing-recovery gate) takes far longer than a
// unit test may; main.ts --recipe runs a real one.
import { assert, assertEquals } from "../../tests/assert.ts";
import { retrainAndCompare } from "./retrain.ts";

async function committedFolder(card: unknown): Promise<URL> {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/stub-e8.json`, JSON.stringify(card));
  return new URL(`file://${dir}/`);
}

/** A trainer that writes `accuracy` into a card, as the real ones write theirs. */
function stub(accuracy: number, written: URL[]) {
  return async (_log: (line: string) => void, _args: string[], out?: URL) => {
    written.push(out!);
    await Deno.writeTextFile(
      new URL("stub-e8.json", out),
      JSON.stringify({ checkpointSha256: "aa", metrics: { testAccuracy: accuracy } }),
    );
  };
}

Deno.test("retrainAndCompare() trains into a temporary folder and passes an exact match", async () => {
  const committed = await committedFolder({
    checkpointSha256: "aa",
    metrics: { testAccuracy: 0.97 },
  });
  const written: URL[] = [];
  const result = await retrainAndCompare({
    name: "stub",
    kind: "moe-gate",
    committed,
    train: stub(0.97, written),
  });
  assertEquals(result.status, "ok");
  assertEquals(result.checkpointIdentical, true);
  assertEquals(result.reproduction?.difference, 0);
  assert(written[0].href !== committed.href);
  // The temporary folder is gone and the committed card untouched.
  assert(await Deno.stat(written[0]).then(() => false, () => true));
  assertEquals(JSON.parse(Deno.readTextFileSync(new URL("stub-e8.json", committed))).metrics, {
    testAccuracy: 0.97,
  });
});

Deno.test("retrainAndCompare() fails a perturbed metric with a message, not a throw", async () => {
  const committed = await committedFolder({ metrics: { testAccuracy: 0.97 } });
  const result = await retrainAndCompare({
    name: "stub",
    kind: "sparse-training",
    committed,
    train: stub(0.95, []),
  });
  assertEquals(result.status, "failed");
  assert(result.error.includes("did not reproduce"), result.error);
});

Deno.test("retrainAndCompare() turns a crashing trainer or a missing card into a failed result", async () => {
  const committed = await committedFolder({ metrics: { testAccuracy: 0.97 } });
  const crashed = await retrainAndCompare({
    name: "stub",
    kind: "moe-gate",
    committed,
    train: () => Promise.reject(new Error("out of data")),
  });
  assertEquals(crashed.status, "failed");
  assert(crashed.error.includes("out of data"), crashed.error);
  const empty = await retrainAndCompare({
    name: "stub",
    kind: "moe-gate",
    committed: new URL(`file://${await Deno.makeTempDir()}/`),
    train: stub(0.97, []),
  });
  assertEquals(empty.status, "failed");
  assert(empty.error.includes("no committed card"), empty.error);
});

Deno.test("retrainAndCompare() reproduces a real recipe (routing-recovery-hash, ~7 s) byte for byte", async () => {
  const { retrainableRecipes } = await import("../train.ts");
  const recipe = retrainableRecipes().find((r) => r.name === "routing-recovery-hash")!;
  const result = await retrainAndCompare(recipe);
  assertEquals(result.error, "");
  assertEquals(result.status, "ok");
  assertEquals(result.reproduction?.difference, 0);
  assertEquals(result.checkpointIdentical, true);
});
