/**
 * Action-log retention (src/events/logs-retention.ts): the cron takes entries older than
 * ACTION_LOG_RETENTION (30 days by default) out of D1 (to the archive by default:
 * logs-archive.test.ts), oldest first and a bounded number a tick, and keeps the rest.
 */
import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { asc, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { actionLogs } from "../../../src/db/schema";
import { RETENTION_SWEEP_ROWS, RETENTION_SWEEPS_PER_TICK, sweepActionLogs } from "../../../src/events/logs-retention";
import worker from "../../../src/index";
import { db } from "../helpers/accounts";

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 5, 1);

/** Entries at `datetimes`, in one statement (the times as one JSON parameter). */
async function entriesAt(...datetimes: number[]) {
  await db().run(sql`insert into action_logs (kind, metadata, datetime)
    select 'create_repo', '{}', value from json_each(${JSON.stringify(datetimes)})`);
}

const kept = async () =>
  (await db().select({ at: actionLogs.datetime }).from(actionLogs).orderBy(asc(actionLogs.datetime)).all()).map(
    (r) => r.at,
  );

describe("action-log retention", () => {
  it("the cron tick removes what is older than 30 days and keeps the rest", async () => {
    await db().delete(actionLogs);
    await entriesAt(NOW - 31 * DAY, NOW - 30 * DAY - 1, NOW - 30 * DAY, NOW - DAY);
    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ scheduledTime: NOW }), env, ctx);
    await waitOnExecutionContext(ctx);
    expect(await kept()).toEqual([NOW - 30 * DAY, NOW - DAY]);
  });

  it("removes a bounded number a tick, oldest first; the next tick takes the rest", async () => {
    await db().delete(actionLogs);
    const bound = RETENTION_SWEEP_ROWS * RETENTION_SWEEPS_PER_TICK;
    const old = Array.from({ length: bound + 3 }, (_, i) => NOW - 40 * DAY + i);
    await entriesAt(...old, NOW);
    expect(await sweepActionLogs(db(), NOW, 30 * 86_400)).toBe(bound);
    expect(await kept()).toEqual([...old.slice(bound), NOW]);
    expect(await sweepActionLogs(db(), NOW, 30 * 86_400)).toBe(3);
    expect(await kept()).toEqual([NOW]);
  });
});
