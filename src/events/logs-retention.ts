/**
 * Action-log retention: entries older than ACTION_LOG_RETENTION are removed by the cron, oldest
 * first, in statements of {@link RETENTION_SWEEP_ROWS} and at most {@link RETENTION_SWEEPS_PER_TICK}
 * a tick, so a tick after a long pause (or a shortened retention) stays short; the next ticks take
 * the rest. Each statement reads the `datetime` index.
 */
import { lt, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { actionLogs } from "../db/schema";

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
