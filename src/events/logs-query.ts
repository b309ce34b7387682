/**
 * Reading action logs as Quay's logs API does (endpoints/api/logs.py, data/model/log.py): a time
 * window from `starttime` / `endtime`, narrowed to a namespace, a repository or a performer, newest
 * first, {@link LOGS_PER_PAGE} a page; and counts per kind and UTC day (`aggregatelogs`).
 */
import { and, count, desc, eq, gte, inArray, lt, notInArray, type SQL, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { type ActionLog, actionLogs, users } from "../db/schema";
import { invalid } from "../errors/domain";

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
  const ms = Date.UTC(Number(year), Number(month) - 1, Number(day));
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

/** Which entries: of a namespace or a repository (by id), by a performer; none of `excludeKinds`. */
export interface LogFilter {
  namespaceId?: number;
  repositoryId?: number;
  /** The performer's name: an unknown name matches nothing. */
  performer?: string;
  excludeKinds?: readonly string[];
}

function conditions(db: Db, window: LogWindow, filter: LogFilter): (SQL | undefined)[] {
  return [
    gte(actionLogs.datetime, window.startMs),
    lt(actionLogs.datetime, window.endMs),
    // Quay narrows by the repository alone when it has one.
    filter.repositoryId !== undefined
      ? eq(actionLogs.repositoryId, filter.repositoryId)
      : filter.namespaceId !== undefined
        ? eq(actionLogs.namespaceId, filter.namespaceId)
        : undefined,
    filter.performer !== undefined
      ? inArray(
          actionLogs.performerId,
          db.select({ id: users.id }).from(users).where(eq(users.username, filter.performer)),
        )
      : undefined,
    filter.excludeKinds?.length ? notInArray(actionLogs.kind, [...filter.excludeKinds]) : undefined,
  ];
}

/** An entry with its namespace's kind (null once the namespace is gone). */
export type LogRow = ActionLog & { namespaceKind: string | null };

/**
 * A page of entries, newest first (ties by id), after the entry `after` when given; `next` is the
 * last entry's id when another page may follow. An `after` whose entry retention removed since
 * continues past everything kept: the page is empty.
 */
export async function lookupLogs(
  db: Db,
  window: LogWindow,
  filter: LogFilter,
  after?: number,
): Promise<{ rows: LogRow[]; next?: number }> {
  const position =
    after === undefined
      ? undefined
      : sql`(${actionLogs.datetime}, ${actionLogs.id}) < (select a.datetime, a.id from action_logs a where a.id = ${after})`;
  const rows = await db
    .select({ entry: actionLogs, namespaceKind: users.kind })
    .from(actionLogs)
    .leftJoin(users, eq(users.id, actionLogs.namespaceId))
    .where(and(...conditions(db, window, filter), position))
    .orderBy(desc(actionLogs.datetime), desc(actionLogs.id))
    .limit(LOGS_PER_PAGE + 1)
    .all();
  const page = rows.slice(0, LOGS_PER_PAGE).map((r) => ({ ...r.entry, namespaceKind: r.namespaceKind }));
  return { rows: page, next: rows.length > LOGS_PER_PAGE ? page[page.length - 1]!.id : undefined };
}

/** How many entries of a kind on a UTC day (`dayMs`, its midnight). */
export interface AggregatedCount {
  kind: string;
  count: number;
  dayMs: number;
}

/** Quay's `get_aggregated_log_counts`: entries counted per kind and UTC day; a month or more is refused. */
export async function aggregateLogs(db: Db, window: LogWindow, filter: LogFilter): Promise<AggregatedCount[]> {
  if (window.endMs - window.startMs >= MAX_AGGREGATE_MS) throw invalid("Invalid date range for logs");
  // A constant, not a parameter: D1 binds numbers as reals, and the division must be an integer's.
  const dayMs = sql.raw(String(DAY_MS));
  const day = sql<number>`(${actionLogs.datetime} / ${dayMs}) * ${dayMs}`;
  const rows = await db
    .select({ kind: actionLogs.kind, dayMs: day, count: count() })
    .from(actionLogs)
    .where(and(...conditions(db, window, filter)))
    .groupBy(day, actionLogs.kind)
    .orderBy(day, actionLogs.kind)
    .all();
  return rows.map((r) => ({ kind: r.kind, count: r.count, dayMs: Number(r.dayMs) }));
}
