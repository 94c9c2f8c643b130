import { assert, assertEquals, assertRejects } from "../tests/assert.ts";
import { trecEvalMeans } from "../tests/fixtures/trec_eval_rules.ts";
import { exportTrec } from "./export_trec.ts";
import { readRunFile } from "./results/run_file.ts";

Deno.test("exportTrec() names the valid collections and methods before writing anything", async () => {
  const out = await Deno.makeTempDir();
  try {
    await assertRejects(
      () => exportTrec({ collection: "nope", out }),
      Error,
      "expected one of wordnet-senses, spam-known-item",
    );
    await assertRejects(
      () => exportTrec({ collection: "spam-known-item", out, methods: ["bm26"] }),
      Error,
      "Unknown retrieval method 'bm26': expected one of bm25-train-tuned, bm25,",
    );
    for await (const _ of Deno.readDir(out)) throw new Error("wrote a file");
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test({
  name:
    "an exported cell of a bench run, scored by trec_eval's rules, gives the run file's nDCG@10, MRR@10 and R@100",
  // A smoke run of the spam collection (600 documents, 100 test queries) with the train-tuned
  // reference, learned-sparse-idf (trained on the case's seed) and BM25 at stopwords=none, whose
  // many tied scores are where the tie rule matters.
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      const main = new URL("./main.ts", import.meta.url).pathname;
      const out = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          main,
          "--task",
          "spam-known-item-retrieval",
          "--profile",
          "smoke",
          "--method",
          "learned-sparse-idf",
          "--method",
          "bm25",
          "--param",
          "bm25.stopwords=none",
          "--seed",
          "5",
          "--out",
          dir,
        ],
        stdout: "piped",
        stderr: "piped",
      }).output();
      assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
      const [name] = [...Deno.readDirSync(dir)].map((e) => e.name);
      const runPath = `${dir}/${name}`;
      const run = await readRunFile(runPath);
      const cells = run.cells.filter((c) => c.status === "ok");
      assertEquals(
        cells.map((c) => c.method.id).sort(),
        ["bm25", "bm25-train-tuned", "learned-sparse-idf"],
      );
      const exported = `${dir}/trec`;
      const paths = await exportTrec({
        run: runPath,
        cells: cells.map((c) => c.key),
        out: exported,
      });
      const qrels = paths.find((p) => p.endsWith(".qrels.test.txt"))!;
      for (const cell of cells) {
        const runFile = paths.find((p) =>
          p.endsWith(".run") && p.includes(`.${cell.method.id}.`) &&
          JSON.parse(Deno.readTextFileSync(p.replace(/\.run$/, ".json"))).cell === cell.key
        );
        assert(runFile, `no run written for ${cell.key}`);
        const got = trecEvalMeans(Deno.readTextFileSync(qrels), Deno.readTextFileSync(runFile));
        assertEquals(got.queries, cell.metrics.evaluated_queries);
        const near = (a: number, b: number, what: string) =>
          assert(Math.abs(a - b) <= 1e-6, `${cell.key} ${what}: trec_eval ${a}, run file ${b}`);
        near(got.ndcg_cut_10, cell.metrics.ndcg_10, "nDCG@10");
        near(got.recip_rank_at_10, cell.metrics.mrr_10, "MRR@10");
        near(got.recall_100, cell.metrics.recall_100, "R@100");
        const provenance = JSON.parse(Deno.readTextFileSync(runFile.replace(/\.run$/, ".json")));
        assertEquals(provenance.run, run.runId);
        assertEquals(provenance.metrics.ndcg_10, cell.metrics.ndcg_10);
      }
      await assertRejects(
        () => exportTrec({ run: runPath, cells: ["nope"], out: exported }),
        Error,
        `Run ${run.runId} has no cell 'nope'`,
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
