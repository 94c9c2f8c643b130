// Built responses kept per snapshot of the results folder, so repeated requests cost a lookup and
// a conditional request costs no rendering: each entry carries an ETag the etag middleware checks.
import type { Context } from "hono";
import { etagOf } from "./assets.ts";
import type { Snapshot } from "./store.ts";

/** The Hono environment of every route: the snapshot the request is answered from. */
export type Env = { Variables: { snapshot: Snapshot } };

/** A response as the cache keeps it. */
export interface Built {
  status: number;
  type: string;
  body: string;
}

interface Entry extends Built {
  etag: string;
}

/** Content types of what the leaderboard builds. */
export const HTML = "text/html; charset=utf-8";
export const JSON_TYPE = "application/json; charset=utf-8";
export const CSV = "text/csv; charset=utf-8";

/** A page built from HTML text. */
export function page(body: string): Built {
  return { status: 200, type: HTML, body };
}

/** A JSON document built from data. */
export function json(data: unknown): Built {
  return { status: 200, type: JSON_TYPE, body: JSON.stringify(data) };
}

/** Answers a request from the cache, building (and keeping) the response on a miss. */
export type Cached = (c: Context<Env>, build: (s: Snapshot) => Built) => Promise<Response>;

/**
 * A cache of built responses, emptied whenever the snapshot changes.
 *
 * @param entries the most responses kept per snapshot
 * @returns the function routes answer through
 * @throws {RangeError} when `entries` is negative or not an integer
 * @example const cached = responseCache(2000); app.get("/", (c) => cached(c, () => page("hi")));
 */
export function responseCache(entries: number): Cached {
  if (!Number.isInteger(entries) || entries < 0) {
    throw new RangeError(
      `Cannot cache responses as 'entries' must be an integer >= 0: got ${entries}`,
    );
  }
  let version = -1;
  const cache = new Map<string, Entry>();
  const encoder = new TextEncoder();
  return async (c, build) => {
    const snap = c.get("snapshot");
    if (snap.version !== version) {
      cache.clear();
      version = snap.version;
    }
    const url = new URL(c.req.url);
    const key = `${c.req.method === "HEAD" ? "GET" : c.req.method} ${url.pathname}${url.search}`;
    let entry = cache.get(key);
    if (!entry) {
      const built = build(snap);
      entry = { ...built, etag: await etagOf(encoder.encode(built.body)) };
      // Bounded so a crawl of every filter combination cannot grow memory without end.
      if (cache.size < entries) cache.set(key, entry);
    }
    return c.body(entry.body, entry.status as 200, {
      "Content-Type": entry.type,
      "ETag": entry.etag,
    });
  };
}
