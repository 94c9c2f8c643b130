import { assert, assertEquals, assertRejects, assertStringIncludes } from "../tests/assert.ts";
import { makeRun } from "./testdata/fixture.ts";
import { fixtureApp } from "./testdata/test_app.ts";

const TOKEN = "s3cret-token";

function post(body: BodyInit, token: string | null = TOKEN, headers: Record<string, string> = {}) {
  return {
    method: "POST",
    body,
    headers: {
      "content-type": "application/json",
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...headers,
    },
  };
}

Deno.test("POST /api/runs is 404 when SPARSEBENCH_SUBMIT_TOKEN is unset", async () => {
  await using f = await fixtureApp({ submitToken: null });
  const res = await f.app.request("/api/runs", post(JSON.stringify(makeRun({ runId: "x" }))));
  assertEquals(res.status, 404);
  await res.body?.cancel();
});

Deno.test("POST /api/runs refuses a missing or wrong token with 401", async () => {
  await using f = await fixtureApp({ submitToken: TOKEN });
  for (const token of [null, "wrong", TOKEN + "x", TOKEN.slice(0, -1)]) {
    const res = await f.app.request(
      "/api/runs",
      post(JSON.stringify(makeRun({ runId: "x" })), token),
    );
    assertEquals(res.status, 401, String(token));
    assertEquals(res.headers.get("www-authenticate"), 'Bearer realm="sparsebench"');
    assertStringIncludes((await res.json()).error, "Authorization: Bearer <token>");
  }
  // Not a bearer token at all is a bad request (RFC 6750), still with the challenge.
  const malformed = await f.app.request(
    "/api/runs",
    post("{}", null, { authorization: "Bearer not a token!" }),
  );
  assertEquals(malformed.status, 400);
  assertEquals(malformed.headers.get("www-authenticate"), 'Bearer realm="sparsebench"');
  await malformed.body?.cancel();
});

Deno.test("createApp() refuses a submission token no client could send", async () => {
  await assertRejects(() => fixtureApp({ submitToken: "has spaces" }), Error, "bearer token");
});

Deno.test("POST /api/runs stores a valid run as unverified, shown with a badge, out of the ranking", async () => {
  await using f = await fixtureApp({ submitToken: TOKEN });
  const run = makeRun({
    runId: "their-run",
    startedAt: "2025-06-01T00:00:00.000Z",
    verified: true,
  });
  const res = await f.app.request("/api/runs", post(JSON.stringify(run)));
  assertEquals(res.status, 201);
  assertEquals(await res.json(), { runId: "their-run", verified: false, url: "/runs/their-run" });
  const stored = JSON.parse(await Deno.readTextFile(`${f.dir}/their-run.json`));
  assertEquals(stored.verified, false);
  const page = await (await f.app.request("/runs/their-run")).text();
  assertStringIncludes(page, 'class="badge unverified"');
  const board = await (await f.app.request("/api/tasks/synthetic-attention/leaderboard")).json();
  assert(board.rows.every((r: { runId: string }) => r.runId !== "their-run"));
  const withUnverified =
    await (await f.app.request("/api/tasks/synthetic-attention/leaderboard?unverified=1")).json();
  assert(withUnverified.rows.some((r: { runId: string }) => r.runId === "their-run"));
  const again = await f.app.request("/api/runs", post(JSON.stringify(run)));
  assertEquals(again.status, 409);
  await again.body?.cancel();
  const leftovers = [...Deno.readDirSync(f.dir)].filter((e) => e.name.endsWith(".tmp"));
  assertEquals(leftovers, []);
});

Deno.test("POST /api/runs answers 400 with a readable zod error", async () => {
  await using f = await fixtureApp({ submitToken: TOKEN });
  const notJson = await f.app.request("/api/runs", post("{nope"));
  assertEquals(notJson.status, 400);
  assertStringIncludes((await notJson.json()).error, "not JSON");
  const run = makeRun({ runId: "bad-run" }) as unknown as Record<string, unknown>;
  run.profile = "enormous";
  const invalid = await f.app.request("/api/runs", post(JSON.stringify(run)));
  assertEquals(invalid.status, 400);
  const message = (await invalid.json()).error as string;
  assertStringIncludes(message, "not a valid run file");
  assertStringIncludes(message, "→ at profile");
  const badId = makeRun({ runId: "../../etc/passwd" });
  const traversal = await f.app.request("/api/runs", post(JSON.stringify(badId)));
  assertEquals(traversal.status, 400);
  await traversal.body?.cancel();
});

Deno.test("POST /api/runs answers 413 over 5 MB, declared or streamed", async () => {
  await using f = await fixtureApp({ submitToken: TOKEN });
  const big = "x".repeat(5 * 1024 * 1024 + 1);
  const declared = await f.app.request("/api/runs", post(big));
  assertEquals(declared.status, 413);
  await declared.body?.cancel();
  const chunk = new TextEncoder().encode("x".repeat(1024 * 1024));
  let sent = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent++ < 6) controller.enqueue(chunk);
      else controller.close();
    },
  });
  const streamed = await f.app.request(
    "/api/runs",
    { ...post(stream), duplex: "half" } as RequestInit,
  );
  assertEquals(streamed.status, 413);
  await streamed.body?.cancel();
});
