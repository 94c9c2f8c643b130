// The results folder as the app sees it: every run file read and validated, broken ones listed
// with their reason, and the aggregates rebuilt only when the folder's listing changes.
import { join } from "node:path";
import { parseRunFile } from "../bench/results/run_file.ts";
import type { RunFile } from "../bench/results/schema.ts";
import type { Fidelity } from "../bench/metadata.ts";
import { aggregate, type Aggregates } from "./aggregate.ts";

/** A file of the results folder that was not loaded, and why. */
export interface SkippedFile {
  file: string;
  reason: string;
}

/** What the app serves from: one immutable view of the folder. */
export interface Snapshot {
  /** Increases with every rebuild; caches are keyed on it. */
  version: number;
  loadedAt: string;
  dir: string;
  /** Why the folder itself could not be read, if it could not. */
  folderError: string | null;
  files: string[];
  skipped: SkippedFile[];
  data: Aggregates;
}

/** Options of {@link ResultsStore}; every field has a default. */
export interface StoreOptions {
  /** Minimum time between two checks of the folder's listing; 0 checks on every request. */
  checkIntervalMs?: number;
  /** Where load problems are reported; they are never thrown. */
  log?: (message: string) => void;
  /** Files larger than this are skipped rather than read. */
  maxFileBytes?: number;
  /** Fidelity labels by method id for cells of files written before methods declared one. */
  labels?: ReadonlyMap<string, Fidelity>;
}

interface CachedFile {
  stamp: string;
  run: RunFile | null;
  reason: string | null;
}

/** The largest run file the store reads (the biggest real runs are a few MB). */
export const DEFAULT_MAX_FILE_BYTES = 64 * 1024 * 1024;

/**
 * Loads and watches a results folder. Checking is cheap (a listing plus a stat per file) and
 * throttled; a file is parsed again only when its size or modification time changed.
 */
export class ResultsStore {
  readonly dir: string;
  #options: Required<StoreOptions>;
  #snapshot: Snapshot;
  #files = new Map<string, CachedFile>();
  #signature: string | null = null;
  #lastCheck = -Infinity;
  #inFlight: Promise<Snapshot> | null = null;

  /**
   * @param dir the folder of run files
   * @param options check interval, logger and size limit
   */
  constructor(dir: string, options: StoreOptions = {}) {
    this.dir = dir;
    this.#options = {
      checkIntervalMs: options.checkIntervalMs ?? 1000,
      log: options.log ?? ((m) => console.error(m)),
      maxFileBytes: options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES,
      labels: options.labels ?? new Map(),
    };
    this.#snapshot = {
      version: 0,
      loadedAt: new Date(0).toISOString(),
      dir,
      folderError: null,
      files: [],
      skipped: [],
      data: aggregate([]),
    };
  }

  /** The current snapshot without checking the folder. */
  get snapshot(): Snapshot {
    return this.#snapshot;
  }

  /**
   * The current snapshot, checking the folder first when the check interval has passed.
   * Concurrent callers share one check.
   */
  current(): Promise<Snapshot> {
    if (this.#inFlight) return this.#inFlight;
    if (performance.now() - this.#lastCheck < this.#options.checkIntervalMs) {
      return Promise.resolve(this.#snapshot);
    }
    return this.refresh();
  }

  /** Checks the folder now and rebuilds when anything changed. Never throws. */
  refresh(): Promise<Snapshot> {
    if (this.#inFlight) return this.#inFlight;
    this.#inFlight = this.#check().finally(() => {
      this.#lastCheck = performance.now();
      this.#inFlight = null;
    });
    return this.#inFlight;
  }

  async #check(): Promise<Snapshot> {
    const stamps = new Map<string, string>();
    let folderError: string | null = null;
    try {
      for await (const entry of Deno.readDir(this.dir)) {
        if (!entry.name.endsWith(".json") || entry.name.startsWith(".")) continue;
        try {
          const info = await Deno.stat(join(this.dir, entry.name));
          if (!info.isFile) continue;
          stamps.set(entry.name, `${info.size}:${info.mtime?.getTime() ?? 0}`);
        } catch {
          // Removed between listing and stat: it is simply not there any more.
        }
      }
    } catch (error) {
      folderError = `Cannot read the results folder ${this.dir}: ${(error as Error).message}`;
    }
    const names = [...stamps.keys()].sort();
    const signature = `${folderError}|` + names.map((n) => `${n}@${stamps.get(n)}`).join("|");
    if (signature === this.#signature) return this.#snapshot;
    if (folderError) this.#options.log(folderError);
    await this.#rebuild(names, stamps, folderError);
    this.#signature = signature;
    return this.#snapshot;
  }

  async #rebuild(names: string[], stamps: Map<string, string>, folderError: string | null) {
    const next = new Map<string, CachedFile>();
    for (const name of names) {
      const stamp = stamps.get(name)!;
      const cached = this.#files.get(name);
      next.set(name, cached?.stamp === stamp ? cached : await this.#load(name, stamp));
    }
    this.#files = next;
    const runs: RunFile[] = [];
    const skipped: SkippedFile[] = [];
    const owners = new Map<string, string>();
    for (const [file, entry] of next) {
      if (!entry.run) {
        skipped.push({ file, reason: entry.reason ?? "unknown" });
        continue;
      }
      const owner = owners.get(entry.run.runId);
      if (owner) {
        const reason = `duplicate run id '${entry.run.runId}', already loaded from ${owner}`;
        this.#options.log(`skipping ${file}: ${reason}`);
        skipped.push({ file, reason });
        continue;
      }
      owners.set(entry.run.runId, file);
      runs.push(entry.run);
    }
    this.#snapshot = {
      version: this.#snapshot.version + 1,
      loadedAt: new Date().toISOString(),
      dir: this.dir,
      folderError,
      files: [...owners.values()].sort(),
      skipped,
      data: aggregate(runs, { labels: this.#options.labels }),
    };
  }

  async #load(name: string, stamp: string): Promise<CachedFile> {
    const fail = (reason: string): CachedFile => {
      this.#options.log(`skipping ${name}: ${reason}`);
      return { stamp, run: null, reason };
    };
    const size = Number(stamp.split(":")[0]);
    if (size > this.#options.maxFileBytes) {
      return fail(`file is ${size} bytes, over the limit of ${this.#options.maxFileBytes}`);
    }
    let json: unknown;
    try {
      json = JSON.parse(await Deno.readTextFile(join(this.dir, name)));
    } catch (error) {
      return fail(
        error instanceof SyntaxError
          ? `not JSON: ${error.message}`
          : `cannot read: ${(error as Error).message}`,
      );
    }
    try {
      return { stamp, run: parseRunFile(json, name), reason: null };
    } catch (error) {
      return fail((error as Error).message);
    }
  }
}
