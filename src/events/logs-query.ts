/**
 * Reading action logs as Quay's logs API does (endpoints/api/logs.py, data/model/log.py): a time
 * window from `starttime` / `endtime`, narrowed to a namespace, a repository or a performer, newest
 * first, {@link LOGS_PER_PAGE} a page; and counts per kind and UTC day (`aggregatelogs`). Past the
 * retention, from the archive in R2 when it is kept (src/events/logs-archive.ts).
 */
import { and, count, desc, eq, gte, inArray, lt, type SQL, sql } from "drizzle-orm";
import { type Db, database } from "../db/client";
import { type ActionLog, actionLogs, users } from "../db/schema";
import { allShardDbs, namespaceIdShard } from "../db/shards";
import { invalid } from "../errors/domain";
import type { BlobStore } from "../storage/blob-store";
import { type ArchiveFilter, type LogPosition, newestFirst, readArchive } from "./logs-archive";

/** Quay's page of logs (its `paginate(…, limit=20)`): the seeds' pages hold 20. */
export const LOGS_PER_PAGE = 20;

const DAY_MS = 86_400_000;

/** Quay's longest aggregation: it refuses four weeks or more. */
const MAX_AGGREGATE_MS = 28 * DAY_MS;

/** A window of time, unix ms: from `startMs` (inclusive) to `endMs` (exclusive). */
export interface LogWindow {
  startMs: number;
  endMs: number;
}

/**
 * A `starttime` / `endtime`: Quay's `%m/%d/%Y` in UTC, or `YYYY-MM-DD` (the seeds' examples use
 * both); anything else is no date, as in Quay, and the default applies.
 */
function parseDay(text: string | undefined): number | null {
  if (!text) return null;
  const us = /^(\d{1,2})\/(\d{1,2})\/(\d{4})$/.exec(text);
  const iso = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  const [year, month, day] = us ? [us[3], us[1], us[2]] : iso ? [iso[1], iso[2], iso[3]] : [];
  if (year === undefined) return null;
  // setUTCFullYear, not Date.UTC, which reads the years 0-99 as 1900-1999.
  const ms = new Date(0).setUTCFullYear(Number(year), Number(month) - 1, Number(day));
  const back = new Date(ms);
  // 02/31 is no date (Python's strptime refuses it), not March.
  return back.getUTCMonth() === Number(month) - 1 && back.getUTCDate() === Number(day) ? ms : null;
}

/**
 * Quay's `_validate_logs_arguments`: the start defaults to a day ago, the end to now, and the end
 * day is included (a day is added to it). An end before the start is refused (Quay's 400).
 */
export function logWindow(starttime: string | undefined, endtime: string | undefined, nowMs: number): LogWindow {
  const startMs = parseDay(starttime) ?? nowMs - DAY_MS;
  const endMs = (parseDay(endtime) ?? nowMs) + DAY_MS;
  if (endMs < startMs) throw invalid("Invalid time span selected");
  return { startMs, endMs };
}

/**
 * Which entries: of a namespace or a repository (by id), by a performer. (Quay's user listing also
 * leaves out its service-key kinds, which Wharf does not have.)
 */
export interface LogFilter {
  namespaceId?: number;
  repositoryId?: number;
  /** The performer's name: an unknown name matches nothing. */
  performer?: string;
}

/** Where entries are read: `db` (`DB`: names and kinds) and the databases holding the filter's entries. */
export interface LogSources {
  db: Db;
  entries: readonly Db[];
}

/**
 * The databases of `filter`'s entries (src/db/shards.ts): its namespace's alone, or every one
 * for listings that span namespaces (a performer's, the superuser's).
 */
export async function logSources(env: Env, filter: LogFilter): Promise<LogSources> {
  const db = database(env.DB);
  if (filter.namespaceId === undefined) return { db, entries: allShardDbs(env) };
  return { db, entries: [database((await namespaceIdShard(env, filter.namespaceId)).binding)] };
}

/** The table's conditions for a filter whose performer is resolved (not null: nobody matches nothing). */
function conditions(window: LogWindow, filter: ArchiveFilter): (SQL | undefined)[] {
  return [
    gte(actionLogs.datetime, window.startMs),
    lt(actionLogs.datetime, window.endMs),
    // Quay narrows by the repository alone when it has one.
    filter.repositoryId !== undefined
      ? eq(actionLogs.repositoryId, filter.repositoryId)
      : filter.namespaceId !== undefined
        ? eq(actionLogs.namespaceId, filter.namespaceId)
        : undefined,
    filter.performerId === undefined || filter.performerId === null
      ? undefined
      : eq(actionLogs.performerId, filter.performerId),
  ];
}

/** An entry with its namespace's kind (null once the namespace is gone). */
export type LogRow = ActionLog & { namespaceKind: string | null };

/** Where archived entries are read, and from when on the table may no longer hold them all. */
export interface ArchiveSource {
  store: BlobStore;
  /** Entries older than this (now less the retention) may be in the archive. */
  cutoffMs: number;
}

/** The filter with its performer's name resolved to an id, as the archive's entries carry ids. */
async function archiveFilter(db: Db, filter: LogFilter): Promise<ArchiveFilter> {
  const { performer, ...rest } = filter;
  if (performer === undefined) return rest;
  const found = await db.select({ id: users.id }).from(users).where(eq(users.username, performer)).get();
  return { ...rest, performerId: found?.id ?? null };
}

/**
 * `query` run on every database holding entries (the shards of src/db/shards.ts), concurrently; none
 * when the filter names a performer that is no account, whose entries no database holds.
 */
function inEveryDatabase<T>(
  sources: LogSources,
  filter: ArchiveFilter,
  query: (entries: Db) => Promise<T>,
): Promise<T[]> {
  if (filter.performerId === null) return Promise.resolve([]);
  return Promise.all(sources.entries.map(query));
}

/** Namespace kinds for entries: the names are in `DB`, the entries maybe in another database. */
async function withNamespaceKinds(db: Db, entries: ActionLog[]): Promise<LogRow[]> {
  const ids = [...new Set(entries.map((e) => e.namespaceId).filter((id): id is number => id !== null))];
  const kinds = new Map<number, string>();
  if (ids.length > 0)
    for (const row of await db
      .select({ id: users.id, kind: users.kind })
      .from(users)
      .where(inArray(users.id, ids))
      .all())
      kinds.set(row.id, row.kind);
  return entries.map((e) => ({
    ...e,
    namespaceKind: e.namespaceId === null ? null : (kinds.get(e.namespaceId) ?? null),
  }));
}

/**
 * A page of entries, newest first (ties by id), after `position` when given; `next` is where the
 * next page starts when another may follow. With an archive, a window reaching past the retention
 * reads it too, merged in order; a read that stopped at its bound of days continues from there.
 */
export async function lookupLogs(
  sources: LogSources,
  window: LogWindow,
  filter: LogFilter,
  position?: LogPosition,
  archive?: ArchiveSource,
): Promise<{ rows: LogRow[]; next?: LogPosition }> {
  const { db } = sources;
  const resolved = await archiveFilter(db, filter);
  const after =
    position === undefined
      ? undefined
      : sql`(${actionLogs.datetime} < ${position.at} or (${actionLogs.datetime} = ${position.at} and ${actionLogs.id} < ${position.id}))`;
  // Each database's newest page, merged: ids are per database, so entries of two databases at the
  // same millisecond order by id as within one (a page boundary on an exact tie of both is the rare miss).
  const pages = await inEveryDatabase(sources, resolved, (entries) =>
    entries
      .select()
      .from(actionLogs)
      .where(and(...conditions(window, resolved), after))
      .orderBy(desc(actionLogs.datetime), desc(actionLogs.id))
      .limit(LOGS_PER_PAGE + 1)
      .all(),
  );
  let rows: ActionLog[] = pages.flat().sort(newestFirst);
  let stoppedAt: number | undefined;
  // The archive holds only what is older than the cutoff: a full page newer than that needs none of it.
  const fullBeforeCutoff = rows.length > LOGS_PER_PAGE && rows[LOGS_PER_PAGE]!.datetime >= (archive?.cutoffMs ?? 0);
  if (archive && window.startMs < archive.cutoffMs && !fullBeforeCutoff) {
    const read = await readArchive(archive.store, window, resolved, LOGS_PER_PAGE + 1, position, archive.cutoffMs);
    stoppedAt = read.stoppedAt;
    // Rows older than where the read stopped wait for the page that reads their days.
    const kept = stoppedAt === undefined ? rows : rows.filter((r) => r.datetime >= stoppedAt!);
    rows = [...kept, ...read.entries].sort(newestFirst);
  }
  const page = await withNamespaceKinds(db, rows.slice(0, LOGS_PER_PAGE));
  const last = page.at(-1);
  if (rows.length > LOGS_PER_PAGE && last) return { rows: page, next: { at: last.datetime, id: last.id } };
  return { rows: page, next: stoppedAt === undefined ? undefined : { at: stoppedAt, id: 0 } };
}

/** How many entries of a kind on a UTC day (`dayMs`, its midnight). */
export interface AggregatedCount {
  kind: string;
  count: number;
  dayMs: number;
}

/** Quay's `get_aggregated_log_counts`: entries counted per kind and UTC day; a month or more is refused. */
export async function aggregateLogs(
  sources: LogSources,
  window: LogWindow,
  filter: LogFilter,
  archive?: ArchiveSource,
): Promise<AggregatedCount[]> {
  if (window.endMs - window.startMs >= MAX_AGGREGATE_MS) throw invalid("Invalid date range for logs");
  const resolved = await archiveFilter(sources.db, filter);
  // A constant, not a parameter: D1 binds numbers as reals, and the division must be an integer's.
  const dayMs = sql.raw(String(DAY_MS));
  const day = sql<number>`(${actionLogs.datetime} / ${dayMs}) * ${dayMs}`;
  const perDatabase = await inEveryDatabase(sources, resolved, (entries) =>
    entries
      .select({ kind: actionLogs.kind, dayMs: day, count: count() })
      .from(actionLogs)
      .where(and(...conditions(window, resolved)))
      .groupBy(day, actionLogs.kind)
      .all(),
  );
  const counts = new Map<string, AggregatedCount>();
  const add = (kind: string, dayMs: number, n: number) => {
    const key = `${dayMs} ${kind}`;
    const known = counts.get(key);
    if (known) known.count += n;
    else counts.set(key, { kind, count: n, dayMs });
  };
  for (const r of perDatabase.flat()) add(r.kind, Number(r.dayMs), r.count);
  if (archive && window.startMs < archive.cutoffMs) {
    // Four weeks at most: every day of the window is read (the read's bound is a month).
    const read = await readArchive(
      archive.store,
      window,
      resolved,
      Number.POSITIVE_INFINITY,
      undefined,
      archive.cutoffMs,
    );
    for (const entry of read.entries) add(entry.kind, Math.floor(entry.datetime / DAY_MS) * DAY_MS, 1);
  }
  return [...counts.values()].sort((a, b) => a.dayMs - b.dayMs || a.kind.localeCompare(b.kind));
}
