// A per-client limit on submissions: a fixed window per client address, kept in memory only
// (nothing about a client is written anywhere), with the oldest entries dropped past a cap.
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";

/** How many submissions one client may make per window. */
export interface RateLimit {
  requests: number;
  windowMs: number;
}

/** Five submissions per client per ten minutes: a person running the page a few times. */
export const DEFAULT_SUBMISSION_RATE: RateLimit = { requests: 5, windowMs: 10 * 60_000 };

/** Clients remembered at most; past it the oldest window is forgotten. */
const MAX_CLIENTS = 10_000;

/**
 * The client's address as Deno.serve gives it to Hono (`c.env.remoteAddr`); "local" for
 * requests without a socket (app.request in tests). Forwarded headers are not trusted: anyone
 * can send them.
 */
export function clientOf(c: Context): string {
  const env = c.env as { remoteAddr?: { hostname?: string } } | undefined;
  return env?.remoteAddr?.hostname ?? "local";
}

/**
 * A limiter over fixed windows.
 *
 * @param limit requests per window
 * @param now the clock (tests pass their own)
 * @returns `take(client)`, which throws a 429 with Retry-After once the client's window is spent
 * @throws {RangeError} for a limit that is not a positive integer over a positive window
 */
export function rateLimiter(limit: RateLimit, now: () => number = Date.now) {
  if (!Number.isInteger(limit.requests) || limit.requests < 1 || !(limit.windowMs > 0)) {
    throw new RangeError(
      `A rate limit needs requests >= 1 and windowMs > 0: got ${limit.requests} per ${limit.windowMs} ms`,
    );
  }
  const windows = new Map<string, { start: number; used: number }>();
  return {
    take(client: string): void {
      const t = now();
      let w = windows.get(client);
      if (!w || t - w.start >= limit.windowMs) {
        windows.delete(client);
        if (windows.size >= MAX_CLIENTS) windows.delete(windows.keys().next().value!);
        w = { start: t, used: 0 };
        windows.set(client, w);
      }
      if (w.used >= limit.requests) {
        const retry = Math.ceil((w.start + limit.windowMs - t) / 1000);
        throw new HTTPException(429, {
          message: `Too many submissions: ${limit.requests} per ${
            limit.windowMs / 60_000
          } minutes per client; try again in ${retry} s`,
          res: new Response(null, { headers: { "Retry-After": String(retry) } }),
        });
      }
      w.used++;
    },
  };
}
