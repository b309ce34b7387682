/**
 * Action-log retention: entries older than ACTION_LOG_RETENTION leave D1 on the cron, to the
 * archive in R2 (src/events/logs-archive.ts) or, without it, deleted, oldest first, in statements of {@link RETENTION_SWEEP_ROWS} and at most {@link RETENTION_SWEEPS_PER_TICK}
 * a tick, so a tick after a long pause (or a shortened retention) stays short; the next ticks take
 * the rest. Each statement reads the `datetime` index.
 */
import { lt, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { actionLogs } from "../db/schema";
import type { BlobStore } from "../storage/blob-store";
import { archiveActionLogs } from "./logs-archive";

/** Entries one statement removes. */
export const RETENTION_SWEEP_ROWS = 1000;
/** Statements a tick runs at most. */
export const RETENTION_SWEEPS_PER_TICK = 5;

/** Removes entries older than `retentionS` seconds before `nowMs`, a bounded number; how many. */
export async function sweepActionLogs(db: Db, nowMs: number, retentionS: number): Promise<number> {
  const cutoff = nowMs - retentionS * 1000;
  let removed = 0;
  for (let i = 0; i < RETENTION_SWEEPS_PER_TICK; i++) {
    const result = await db.run(sql`delete from ${actionLogs} where id in (
      select id from ${actionLogs} where ${lt(actionLogs.datetime, cutoff)}
      order by ${actionLogs.datetime} limit ${RETENTION_SWEEP_ROWS})`);
    const changes = result.meta.changes ?? 0;
    removed += changes;
    if (changes < RETENTION_SWEEP_ROWS) break;
  }
  return removed;
}

/**
 * The cron's step: entries past ACTION_LOG_RETENTION move to the archive when ACTION_LOG_ARCHIVE
 * is on (never deleted unarchived: an R2 failure leaves them for the next tick), else are deleted.
 */
export async function retainActionLogs(
  db: Db,
  store: BlobStore,
  nowMs: number,
  config: { ACTION_LOG_RETENTION: number; ACTION_LOG_ARCHIVE: boolean },
  shard = 0,
): Promise<number> {
  if (config.ACTION_LOG_ARCHIVE) return archiveActionLogs(db, store, nowMs, config.ACTION_LOG_RETENTION, shard);
  return sweepActionLogs(db, nowMs, config.ACTION_LOG_RETENTION);
}
