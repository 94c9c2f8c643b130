// The JSON API as a sub-app: what the pages show, as data, plus POST /runs for submissions
// (bearer token compared in constant time by Hono, body size capped before it is parsed).
import { type Context, Hono, type MiddlewareHandler } from "hono";
import { bearerAuth } from "hono/bearer-auth";
import { bodyLimit } from "hono/body-limit";
import { HTTPException } from "hono/http-exception";
import { runFileJsonSchema } from "../bench/results/schema.ts";
import { ALL_DEVICES, knownLabels } from "./aggregate.ts";
import { compareRuns } from "./compare.ts";
import { deviceBoards } from "./device_boards.ts";
import { parseBoardQuery, parseCompareQuery, runOf, selectBoard, taskOf } from "./query.ts";
import { type Cached, type Env, json } from "./response_cache.ts";
import type { ResultsStore } from "./store.ts";
import { storeSubmission, type Submitter } from "./submit.ts";
import { clientOf, type RateLimit, rateLimiter } from "./rate_limit.ts";
import type { MethodInfo } from "./catalog.ts";

/** What the API needs besides the snapshot. */
export interface ApiDeps {
  store: ResultsStore;
  methodInfo: ReadonlyMap<string, MethodInfo>;
  cached: Cached;
  /** The submission token; null: only browser runs, where accepted (else POST /runs is a 404). */
  submitToken: string | null;
  /** Largest accepted submission, in bytes. */
  maxSubmissionBytes: number;
  /** Whether a request without an Authorization header may store a browser run. */
  acceptBrowserRuns: boolean;
  /** Submissions per client per window, with or without a token. */
  submissionRate: RateLimit;
}

/** Tokens bearerAuth can match (RFC 6750's b64token); any other token could never be sent. */
export const TOKEN_PATTERN = /^[A-Za-z0-9._~+/-]+=*$/;

const REALM = 'Bearer realm="sparsebench"';
const NEEDS_TOKEN = "Submissions need 'Authorization: Bearer <token>' with the server's token";

/**
 * The API as a sub-app, to be mounted at /api.
 *
 * @param deps the store, method metadata, cache and submission settings
 * @returns the sub-app
 * @throws {Error} when the submission token is one no client could send
 */
export function apiRoutes(deps: ApiDeps): Hono<Env> {
  const { store, methodInfo, cached, submitToken, maxSubmissionBytes, acceptBrowserRuns } = deps;
  if (submitToken !== null && !TOKEN_PATTERN.test(submitToken)) {
    throw new Error(
      `The submission token must match ${TOKEN_PATTERN.source} to be sent as a bearer token`,
    );
  }
  const app = new Hono<Env>();

  app.get("/health", (c) => {
    const s = c.get("snapshot");
    return c.json({
      ok: s.folderError === null && s.skipped.length === 0,
      dir: s.dir,
      loadedAt: s.loadedAt,
      version: s.version,
      folderError: s.folderError,
      loaded: s.files.length,
      skippedCount: s.skipped.length,
      files: s.files,
      skipped: s.skipped,
    });
  });

  app.get("/runs", (c) => cached(c, (s) => json(s.data.runList)));
  app.get("/runs/:id", (c) => cached(c, (s) => json(runOf(s.data, c.req.param("id")))));
  app.get("/tasks", (c) => cached(c, (s) => json([...s.data.tasks.values()])));
  app.get("/tasks/:id/leaderboard", (c) =>
    cached(c, (s) => {
      const task = taskOf(s.data, c.req.param("id"));
      const q = parseBoardQuery(
        new URL(c.req.url).searchParams,
        task.defaultDeviceId ?? ALL_DEVICES,
      );
      const board = selectBoard(s.data, task.id, q);
      return json({
        task: task.id,
        device: q.device,
        includesUnverified: q.unverified,
        mainMetric: { name: task.metricName, higherIsBetter: task.higherIsBetter },
        rows: board.rows,
        frontier: board.frontier,
      });
    }));
  app.get(
    "/methods",
    (c) =>
      cached(
        c,
        (s) =>
          json(
            [...s.data.methods.values()].map((m) => ({ ...m, ...(methodInfo.get(m.id) ?? {}) })),
          ),
      ),
  );
  app.get("/compare", (c) =>
    cached(c, (s) => {
      const ids = parseCompareQuery(new URL(c.req.url).searchParams);
      const [a, b] = ids.map((id) => runOf(s.data, id));
      return json(compareRuns(a, b, knownLabels(s.data)));
    }));
  app.get("/schema", (c) => cached(c, () => json(runFileJsonSchema())));
  // What /devices shows, as data: the runner page sets its results beside these.
  app.get("/devices", (c) => cached(c, (s) => json(deviceBoards(s.data))));

  if (submitToken === null && !acceptBrowserRuns) {
    app.post("/runs", () => {
      throw new HTTPException(404, { message: "Submissions are not enabled on this server" });
    });
    return app;
  }
  // The same challenge for a missing, malformed or wrong token: which one it was is no help to
  // someone guessing tokens.
  const refused = { message: NEEDS_TOKEN, wwwAuthenticateHeader: REALM };
  // Typed to this app's environment, so it can be called from the middleware below.
  const tokenAuth: MiddlewareHandler<Env> | null = submitToken === null ? null : bearerAuth({
    token: submitToken,
    noAuthenticationHeader: refused,
    invalidAuthenticationHeader: refused,
    invalidToken: refused,
  });
  const limiter = rateLimiter(deps.submissionRate);
  const submitterOf = (c: Context): Submitter =>
    !c.req.header("authorization") && acceptBrowserRuns ? "anonymous" : "token";
  app.post(
    "/runs",
    // Who is submitting: a request with a token is checked against it; one without is an
    // anonymous browser run, taken only where the server was started to accept those.
    async (c, next) => {
      if (submitterOf(c) === "anonymous") return await next();
      if (!tokenAuth) {
        throw new HTTPException(401, {
          message: "This server takes only anonymous browser runs: send no Authorization header",
        });
      }
      return await tokenAuth(c, next);
    },
    async (c, next) => {
      limiter.take(clientOf(c));
      await next();
    },
    bodyLimit({
      maxSize: maxSubmissionBytes,
      onError: () => {
        throw new HTTPException(413, {
          message: `Run files are limited to ${maxSubmissionBytes} bytes`,
        });
      },
    }),
    async (c) => {
      const body = new Uint8Array(await c.req.arrayBuffer());
      const snapshot = await store.refresh();
      const runId = await storeSubmission(store.dir, body, {
        submitter: submitterOf(c),
        existing: snapshot.data.runs.values(),
      });
      await store.refresh();
      return c.json({ runId, verified: false, url: `/runs/${runId}` }, 201);
    },
  );
  return app;
}
