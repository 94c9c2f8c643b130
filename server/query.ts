// Checking what comes in through URLs: ids against strict patterns, and the leaderboard's query
// parameters. Anything else is an HTTPException (400 or 404) with a message people can act on.
import { HTTPException } from "hono/http-exception";
import type { RunFile } from "../bench/results/schema.ts";
import {
  type Aggregates,
  ALL_DEVICES,
  type Board,
  frontierOf,
  type TaskSummary,
} from "./aggregate.ts";
import { SORT_KEYS, sortRows } from "./columns.ts";
import { DEVICE_ID_PATTERN } from "./devices.ts";

/** Task and method ids: lower-case words joined by '-' (as the metadata schema has them). */
export const SLUG_PATTERN = /^[a-z0-9]+(-[a-z0-9]+)*$/;
/** Run ids, as the result schema has them. */
export const RUN_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** @throws {HTTPException} 404 unless `id` matches `pattern` */
export function checkId(id: string, pattern: RegExp, what: string): string {
  if (id.length > 128 || !pattern.test(id)) {
    throw new HTTPException(404, {
      message: `No ${what} '${id.slice(0, 128)}': ids use ${pattern.source}`,
    });
  }
  return id;
}

/** The leaderboard's filters and order, from the query string. */
export interface BoardQuery {
  /** A device id or "all". */
  device: string;
  densityMin: number | null;
  densityMax: number | null;
  /** Include submitted, unverified runs. */
  unverified: boolean;
  sort: string | null;
  dir: "asc" | "desc";
}

const KNOWN = new Set(["device", "density_min", "density_max", "unverified", "sort", "dir"]);

function density(params: URLSearchParams, name: string): number | null {
  const text = params.get(name);
  if (text === null || text === "") return null;
  const value = Number(text);
  if (!Number.isFinite(value) || value < 0 || value > 1) {
    throw new HTTPException(400, {
      message: `'${name}' must be a density between 0 and 1: got '${text.slice(0, 40)}'`,
    });
  }
  return value;
}

/**
 * Parses the leaderboard's query parameters.
 *
 * @param params the query string
 * @param defaultDevice the device shown when none is asked for
 * @throws {HTTPException} 400 naming the parameter and what it accepts
 */
export function parseBoardQuery(params: URLSearchParams, defaultDevice: string): BoardQuery {
  for (const name of params.keys()) {
    if (!KNOWN.has(name)) {
      throw new HTTPException(400, {
        message: `Unknown query parameter '${name.slice(0, 40)}': use ${[...KNOWN].join(", ")}`,
      });
    }
  }
  const device = params.get("device") || defaultDevice;
  if (device !== ALL_DEVICES && !DEVICE_ID_PATTERN.test(device)) {
    throw new HTTPException(400, {
      message: `'device' must be 'all' or a device id: got '${device.slice(0, 80)}'`,
    });
  }
  const densityMin = density(params, "density_min");
  const densityMax = density(params, "density_max");
  if (densityMin !== null && densityMax !== null && densityMin > densityMax) {
    throw new HTTPException(400, {
      message: `'density_min' (${densityMin}) is above 'density_max' (${densityMax})`,
    });
  }
  const unverifiedText = params.get("unverified");
  if (unverifiedText !== null && !["", "0", "1", "true", "false", "on"].includes(unverifiedText)) {
    throw new HTTPException(400, {
      message: `'unverified' must be 1 or 0: got '${unverifiedText.slice(0, 20)}'`,
    });
  }
  const sort = params.get("sort");
  if (sort !== null && !SORT_KEYS.includes(sort)) {
    throw new HTTPException(400, {
      message: `'sort' must be one of ${SORT_KEYS.join(", ")}: got '${sort.slice(0, 40)}'`,
    });
  }
  const dir = params.get("dir") ?? "desc";
  if (dir !== "asc" && dir !== "desc") {
    throw new HTTPException(400, {
      message: `'dir' must be asc or desc: got '${dir.slice(0, 20)}'`,
    });
  }
  return {
    device,
    densityMin,
    densityMax,
    unverified: ["1", "true", "on"].includes(unverifiedText ?? ""),
    sort,
    dir,
  };
}

/**
 * The rows a leaderboard view shows: the precomputed board of its device, filtered and sorted.
 *
 * @throws {HTTPException} 404 for an unknown task; an unknown device is an empty board
 */
export function selectBoard(data: Aggregates, taskId: string, q: BoardQuery): Board {
  const perDevice = data.boards.get(taskId);
  if (!perDevice) {
    throw new HTTPException(404, { message: `No task '${taskId}' in any loaded run` });
  }
  const both = perDevice.get(q.device);
  if (!both) return { rows: [], frontier: [] };
  const board = q.unverified ? both.all : both.verified;
  if (q.densityMin === null && q.densityMax === null && q.sort === null) return board;
  let rows = board.rows;
  if (q.densityMin !== null || q.densityMax !== null) {
    const lo = q.densityMin ?? 0;
    const hi = q.densityMax ?? 1;
    rows = rows.filter((r) => {
      const d = r.realizedDensity ?? r.nominalDensity;
      return d !== null && d >= lo && d <= hi;
    });
  }
  if (q.sort) rows = sortRows(rows, q.sort, q.dir);
  return { rows, frontier: frontierOf(rows) };
}

/**
 * The task `id` names in the loaded runs.
 *
 * @throws {HTTPException} 404 for a malformed or unknown id
 */
export function taskOf(data: Aggregates, id: string): TaskSummary {
  checkId(id, SLUG_PATTERN, "task");
  const task = data.tasks.get(id);
  if (!task) throw new HTTPException(404, { message: `No task '${id}' in any loaded run` });
  return task;
}

/**
 * The run `id` names in the loaded runs.
 *
 * @throws {HTTPException} 404 for a malformed or unknown id
 */
export function runOf(data: Aggregates, id: string): RunFile {
  checkId(id, RUN_ID_PATTERN, "run");
  const run = data.runs.get(id);
  if (!run) throw new HTTPException(404, { message: `No run '${id}' is loaded` });
  return run;
}

/**
 * Refuses a query string on pages that take none, so a typo is not silently ignored.
 *
 * @throws {HTTPException} 400 naming the first parameter
 */
export function refuseQuery(params: URLSearchParams): void {
  const first = [...params.keys()][0];
  if (first !== undefined) {
    throw new HTTPException(400, {
      message: `This page takes no query parameters: got '${first.slice(0, 40)}'`,
    });
  }
}

/**
 * The two run ids of `?a=RUN&b=RUN`, refusing anything else in the query.
 *
 * @throws {HTTPException} 400 naming the missing, malformed or unknown parameter
 */
export function parseCompareQuery(params: URLSearchParams): [string, string] {
  for (const name of params.keys()) {
    if (name !== "a" && name !== "b") {
      throw new HTTPException(400, {
        message: `Unknown query parameter '${name.slice(0, 40)}': use a and b`,
      });
    }
  }
  const id = (name: string) => {
    const value = params.get(name);
    if (!value) {
      throw new HTTPException(400, { message: `'${name}' must name a run: ?a=RUN&b=RUN` });
    }
    if (!RUN_ID_PATTERN.test(value)) {
      throw new HTTPException(400, {
        message: `'${name}' is not a run id: got '${value.slice(0, 128)}'`,
      });
    }
    return value;
  };
  return [id("a"), id("b")];
}
