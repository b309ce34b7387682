/**
 * Action logs past their retention, in R2 (README "Action logs": "Retention and the archive").
 * With ACTION_LOG_ARCHIVE on, the cron moves entries older than ACTION_LOG_RETENTION out of D1
 * into NDJSON files, one a UTC day, namespace and batch (src/storage/keys.ts), instead of deleting
 * them; the logs listings read those files when their window reaches past the retention. The
 * table stays as small as the retention keeps it, and the archive grows in R2, which bills
 * storage, not rows.
 *
 * A file is written before its rows are deleted: a tick that dies in between writes them again
 * (the same rows, a file of the same name) on the next tick, so an entry is archived at least
 * once; a rare second copy under another name (when later rows of the same day joined the batch)
 * is possible and shown twice.
 */
import { asc, lt, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { type ActionLog, actionLogs } from "../db/schema";
import { sha256Hex } from "../lib/encoding";
import type { BlobStore } from "../storage/blob-store";
import { actionLogArchiveKey, actionLogArchivePrefix } from "../storage/keys";

/** Entries one archiving round moves. */
export const ARCHIVE_ROWS = 1000;
/** Rounds a tick runs at most. */
export const ARCHIVE_ROUNDS_PER_TICK = 5;
/**
 * Days of archive one listing request reads at most (a list call each, and a read per file):
 * a window reaching further back continues on the next page.
 */
export const ARCHIVE_DAYS_PER_READ = 31;

const DAY_MS = 86_400_000;
const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const dayStart = (ms: number) => Math.floor(ms / DAY_MS) * DAY_MS;

/**
 * Moves entries older than `retentionS` before `nowMs` to the archive, a bounded number; how many.
 * `shard`: the number of `db` in the shard directory (src/db/shards.ts), which names its files.
 */
export async function archiveActionLogs(
  db: Db,
  store: BlobStore,
  nowMs: number,
  retentionS: number,
  shard = 0,
): Promise<number> {
  const cutoff = nowMs - retentionS * 1000;
  let moved = 0;
  for (let round = 0; round < ARCHIVE_ROUNDS_PER_TICK; round++) {
    const rows = await db
      .select()
      .from(actionLogs)
      .where(lt(actionLogs.datetime, cutoff))
      .orderBy(asc(actionLogs.datetime), asc(actionLogs.id))
      .limit(ARCHIVE_ROWS)
      .all();
    if (rows.length === 0) break;
    const files = new Map<string, ActionLog[]>();
    for (const row of rows) {
      const file = `${dayOf(row.datetime)} ${row.namespaceId ?? "_"}`;
      files.set(file, [...(files.get(file) ?? []), row]);
    }
    for (const entries of files.values()) {
      const first = entries[0]!;
      const text = `${entries.map((e) => JSON.stringify(e)).join("\n")}\n`;
      const key = actionLogArchiveKey(dayOf(first.datetime), first.namespaceId, first.id, entries.at(-1)!.id, shard);
      await store.putVerified(key, new TextEncoder().encode(text), await sha256Hex(text));
    }
    const ids = JSON.stringify(rows.map((r) => r.id));
    await db.run(sql`delete from ${actionLogs} where id in (select value from json_each(${ids}))`);
    moved += rows.length;
    if (rows.length < ARCHIVE_ROWS) break;
  }
  return moved;
}

/** A place in the newest-first order of entries: its time and id. */
export interface LogPosition {
  at: number;
  id: number;
}

/** Whether `entry` comes after `position` in the newest-first order. */
export const isBefore = (entry: { datetime: number; id: number }, position: LogPosition | undefined) =>
  position === undefined || entry.datetime < position.at || (entry.datetime === position.at && entry.id < position.id);

export const newestFirst = (a: { datetime: number; id: number }, b: { datetime: number; id: number }) =>
  b.datetime - a.datetime || b.id - a.id;

/** Which archived entries: as the table's filter, with the performer resolved to an id (null: nobody). */
export interface ArchiveFilter {
  namespaceId?: number;
  repositoryId?: number;
  performerId?: number | null;
}

function matches(entry: ActionLog, window: { startMs: number; endMs: number }, filter: ArchiveFilter): boolean {
  if (entry.datetime < window.startMs || entry.datetime >= window.endMs) return false;
  if (filter.repositoryId !== undefined) {
    if (entry.repositoryId !== filter.repositoryId) return false;
  } else if (filter.namespaceId !== undefined && entry.namespaceId !== filter.namespaceId) return false;
  // A performer named but unknown (null) matches nothing, as the D1 query answers none: it must not
  // match the entries that have no performer (anonymous pulls).
  if (filter.performerId === null) return false;
  return filter.performerId === undefined || entry.performerId === filter.performerId;
}

/** Every archived entry of a day, of one namespace's files when `namespaceId` is given. */
async function readDay(store: BlobStore, day: string, namespaceId: number | undefined): Promise<ActionLog[]> {
  const entries: ActionLog[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.list(actionLogArchivePrefix(day, namespaceId), { cursor });
    for (const object of page.objects) {
      const stored = await store.get(object.key);
      if (!stored) continue;
      const text = await new Response(stored.body).text();
      for (const line of text.split("\n")) if (line) entries.push(JSON.parse(line) as ActionLog);
    }
    cursor = page.cursor;
  } while (cursor);
  return entries;
}

export interface ArchiveRead {
  /** The matching entries of the days read, newest first. */
  entries: ActionLog[];
  /** When the read stopped at its bound of days: the start of the last day it read. */
  stoppedAt?: number;
}

/**
 * Archived entries of `window` matching `filter` that come after `position`, newest first: whole
 * days from the newest on, until `want` are found, the window ends, or
 * {@link ARCHIVE_DAYS_PER_READ} days were read. Days after `cutoffMs`'s hold no archive yet (an
 * entry leaves D1 once older than the cutoff), so the read starts at most there.
 */
export async function readArchive(
  store: BlobStore,
  window: { startMs: number; endMs: number },
  filter: ArchiveFilter,
  want: number,
  position: LogPosition | undefined,
  cutoffMs: number,
): Promise<ArchiveRead> {
  const entries: ActionLog[] = [];
  const first = dayStart(Math.min(window.endMs - 1, position?.at ?? Number.POSITIVE_INFINITY, cutoffMs));
  const last = dayStart(window.startMs);
  const shard = filter.namespaceId;
  let day = first;
  for (let read = 0; day >= last && entries.length < want; day -= DAY_MS, read++) {
    if (read === ARCHIVE_DAYS_PER_READ) return { entries: entries.sort(newestFirst), stoppedAt: day + DAY_MS };
    for (const entry of await readDay(store, dayOf(day), shard))
      if (matches(entry, window, filter) && isBefore(entry, position)) entries.push(entry);
  }
  return { entries: entries.sort(newestFirst) };
}
