/**
 * Idempotent consumption (docs/events.md, "Delivery"): the outbox delivers every event at least
 * once, so the same id can arrive twice (a publish whose row deletion failed and the drain that
 * then re-sent it; a queue redelivery). The consumer records each id it has handed to its
 * subscribers in `delivered_events` and skips an id found there. The record is written after the
 * subscribers ran, so a consumer dying in between lets the event through again (at least once,
 * never lost); subscribers that keep state (action logs, later) also key it by the event id.
 * The pull statistics consumer marks here, in each database it counts a `pulls` message in, the
 * message as `pulls:<message id>` (src/queues/pull-statistics-per-database.ts); so every database
 * has this table, and the cron sweeps it in each.
 */
import { lt, type SQL, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { deliveredEvents } from "../db/schema";

/**
 * How long a delivered id is remembered. Repeats come within minutes (the drain runs every minute,
 * the queue retries within its backoff); a week covers a queue or D1 outage of days.
 */
export const DELIVERED_RETENTION_MS = 7 * 24 * 60 * 60 * 1000;
/** Rows the sweep deletes per call (one statement). */
export const DELIVERED_SWEEP_ROWS = 1000;

const idList = (ids: readonly string[]) => sql`(select value from json_each(${JSON.stringify(ids)}))`;

/** Which of `ids` were already delivered; one query, the ids as one JSON parameter. */
export async function deliveredAlready(db: Db, ids: readonly string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const rows = await db
    .select({ id: deliveredEvents.id })
    .from(deliveredEvents)
    .where(sql`${deliveredEvents.id} in ${idList(ids)}`)
    .all();
  return new Set(rows.map((row) => row.id));
}

/** Records `ids` as delivered at `nowMs` (ids recorded before keep their first time). */
export async function recordDelivered(db: Db, ids: readonly string[], nowMs: number): Promise<void> {
  if (ids.length === 0) return;
  await db.run(sql`insert into ${deliveredEvents} (id, delivered_at)
    select value, ${nowMs} from json_each(${JSON.stringify(ids)}) where true
    on conflict (id) do nothing`);
}

/**
 * The insert recording `ids` as delivered at `nowMs`, for a batch whose other statements must
 * commit once per id (src/queues/pull-statistics-per-database.ts). Unlike {@link recordDelivered}
 * an id recorded before is no "do nothing": its unique constraint fails the statement, and with it
 * the whole batch (one transaction), so nothing of the batch is applied twice.
 */
export function deliveredMarkersStatement(ids: readonly string[], nowMs: number): SQL {
  return sql`insert into ${deliveredEvents} (id, delivered_at)
    select value, ${nowMs} from json_each(${JSON.stringify([...new Set(ids)])})`;
}

/** Forgets ids delivered more than {@link DELIVERED_RETENTION_MS} ago, a bounded number per call. */
export async function sweepDelivered(db: Db, nowMs: number): Promise<number> {
  const result = await db.run(sql`delete from ${deliveredEvents} where id in (
    select id from ${deliveredEvents} where ${lt(deliveredEvents.deliveredAt, nowMs - DELIVERED_RETENTION_MS)}
    limit ${DELIVERED_SWEEP_ROWS})`);
  return result.meta.changes ?? 0;
}
