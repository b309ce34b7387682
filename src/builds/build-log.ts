/**
 * A build's log (Quay's build logs: entries `{"message", "type"?, "data"?}` in order, read from an
 * index on with `?start=`). The connector's heartbeats append lines; a build writes at most
 * {@link MAX_LOG_LINES} lines and {@link MAX_LOG_BYTES} of them, then one last line saying the log
 * was cut, so a runaway build cannot fill D1. Quay keeps them in Redis, then archives them.
 */
import { and, asc, eq, gte, type SQL, sql } from "drizzle-orm";
import type { Db, Statement } from "../db/client";
import { buildLogEntries, repositoryBuilds } from "../db/schema";

export const MAX_LOG_LINES = 10_000;
export const MAX_LOG_BYTES = 4 * 1024 * 1024;
/** One entry's JSON at most (a longer message is cut): D1 rows and the UI stay bounded. */
export const MAX_ENTRY_BYTES = 64 * 1024;
export const TRUNCATED_MESSAGE = "log truncated: this build wrote more than the registry keeps";

export interface LogEntry {
  message: string;
  type?: string;
  data?: Record<string, unknown>;
}

const encoder = new TextEncoder();

function encodeEntry(entry: LogEntry): string {
  const text = JSON.stringify(entry);
  if (encoder.encode(text).length <= MAX_ENTRY_BYTES) return text;
  const message = entry.message.slice(0, MAX_ENTRY_BYTES / 4);
  return JSON.stringify({ message, ...(entry.type ? { type: entry.type } : {}) });
}

/** The build's lines written so far and their bytes (SQLite's `length` of text counts characters; of a blob, bytes). */
async function logSize(db: Db, buildId: number) {
  const row = await db
    .select({
      lines: sql<number>`count(*)`,
      bytes: sql<number>`coalesce(sum(length(cast(${buildLogEntries.entry} as blob))), 0)`,
    })
    .from(buildLogEntries)
    .where(eq(buildLogEntries.buildId, buildId))
    .get();
  return { lines: row?.lines ?? 0, bytes: row?.bytes ?? 0 };
}

/**
 * The statements appending `entries` to build `buildId`'s log within the caps (none when the log
 * was already cut), with its `logCount`, written only where `onlyIf` holds: for the caller's batch,
 * after the phase change they came with (so lines of a change that lost a race are not written).
 * Sequence numbers follow the rows already written; the unique (build, seq) index refuses the
 * batch should two reports of one lease race (the lease lets only one through).
 */
export async function appendLogStatements(
  db: Db,
  buildId: number,
  entries: readonly LogEntry[],
): Promise<(onlyIf?: SQL) => Statement[]> {
  if (entries.length === 0) return () => [];
  let { lines, bytes } = await logSize(db, buildId);
  const rows: { buildId: number; seq: number; entry: string }[] = [];
  // Cut already: its last line is the truncation notice.
  if (lines >= MAX_LOG_LINES || (lines > 0 && (await lastIsTruncation(db, buildId, lines)))) return () => [];
  for (const entry of entries) {
    const text = encodeEntry(entry);
    const length = encoder.encode(text).length;
    // The last line the caps allow is the notice itself.
    if (lines >= MAX_LOG_LINES - 1 || bytes + length > MAX_LOG_BYTES) {
      rows.push({ buildId, seq: lines, entry: JSON.stringify({ message: TRUNCATED_MESSAGE, type: "error" }) });
      lines += 1;
      break;
    }
    rows.push({ buildId, seq: lines, entry: text });
    lines += 1;
    bytes += length;
  }
  // One statement with three bound values however many lines (D1 binds at most 100 a statement).
  const first = rows[0]!.seq;
  const texts = JSON.stringify(rows.map((row) => row.entry));
  // The insert names every column, `id` first: null numbers it.
  return (onlyIf = sql`1`) => [
    db
      .insert(buildLogEntries)
      .select(sql`select null, ${buildId}, ${first} + key, value from json_each(${texts}) where ${onlyIf}`),
    db
      .update(repositoryBuilds)
      .set({ logCount: lines })
      .where(and(eq(repositoryBuilds.id, buildId), onlyIf)),
  ];
}

async function lastIsTruncation(db: Db, buildId: number, lines: number): Promise<boolean> {
  const row = await db
    .select({ entry: buildLogEntries.entry })
    .from(buildLogEntries)
    .where(and(eq(buildLogEntries.buildId, buildId), eq(buildLogEntries.seq, lines - 1)))
    .get();
  return row?.entry.includes(TRUNCATED_MESSAGE) ?? false;
}

/** Quay's `get_logs_or_log_url`: the entries from `start` on (at most `limit`) and the total. */
export async function readLog(db: Db, buildId: number, start: number, limit = 1000) {
  const [entries, size] = await Promise.all([
    db
      .select({ entry: buildLogEntries.entry })
      .from(buildLogEntries)
      .where(and(eq(buildLogEntries.buildId, buildId), gte(buildLogEntries.seq, start)))
      .orderBy(asc(buildLogEntries.seq))
      .limit(limit)
      .all(),
    logSize(db, buildId),
  ]);
  return { start, total: size.lines, logs: entries.map((row) => JSON.parse(row.entry) as LogEntry) };
}
