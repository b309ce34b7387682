/**
 * The cron's pass over the connectors' queue (src/index.ts, src/connector/lease-expiry.ts): a lease
 * that ran out returns to the queue even when no connector polls, the third fails for good through
 * its handler, and finished jobs leave the queue after seven days while open ones stay.
 */
import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { EXHAUSTED_REASON, EXPIRED_REASON, JOB_RETENTION_MS } from "../../../src/connector/lease-expiry";
import { connectorJobs } from "../../../src/db/schema";
import worker from "../../../src/index";
import { clock } from "../../../src/lib/clock";
import { db } from "../helpers/accounts";
import { advanceClock, freezeClock } from "../helpers/clock";
import {
  clearJobs,
  jobByUuid,
  lease,
  newConnector,
  queueJob,
  recordingHandler,
  registerHandler,
} from "../helpers/connectors";

let unregister: () => void;
let handler: ReturnType<typeof recordingHandler>;

beforeEach(async () => {
  await clearJobs();
  handler = recordingHandler("build");
  unregister = registerHandler(handler);
});

afterEach(() => unregister());

async function tick(): Promise<void> {
  const ctx = createExecutionContext();
  await worker.scheduled(createScheduledController({ scheduledTime: clock.now() }), env, ctx);
  await waitOnExecutionContext(ctx);
}

describe("the cron's sweep of the queue", () => {
  it("returns an expired lease to the queue with no connector polling, and fails the third", async () => {
    freezeClock();
    const { token } = await newConnector(["build"]);
    const job = await queueJob("build");
    await lease(token, ["build"]);
    advanceClock(59_999);
    await tick();
    expect((await jobByUuid(job.uuid))!.state).toBe("leased");
    advanceClock(1);
    await tick();
    expect(await jobByUuid(job.uuid)).toMatchObject({
      state: "queued",
      attempts: 1,
      connectorId: null,
      leaseToken: null,
      error: EXPIRED_REASON,
    });
    await db().update(connectorJobs).set({ attempts: 2 }).where(eq(connectorJobs.uuid, job.uuid));
    expect((await lease(token, ["build"])).json.job.attempts).toBe(3);
    advanceClock(60_000);
    await tick();
    expect(await jobByUuid(job.uuid)).toMatchObject({ state: "failed", error: EXHAUSTED_REASON });
    expect(handler.calls.failed.map((f) => f.reason)).toEqual([EXHAUSTED_REASON]);
  });

  it("keeps a job whose handler could not commit the failure leased, and retries it on a later tick", async () => {
    freezeClock();
    const { token } = await newConnector(["build"]);
    const job = await queueJob("build");
    await db().update(connectorJobs).set({ attempts: 2 }).where(eq(connectorJobs.uuid, job.uuid));
    await lease(token, ["build"]);
    let refusals = 1;
    const realFail = handler.fail;
    handler.fail = async (j, reason, ctx) => {
      if (refusals-- > 0) throw new Error("D1 unavailable");
      return realFail(j, reason, ctx);
    };
    advanceClock(60_000);
    await tick();
    expect((await jobByUuid(job.uuid))!.state).toBe("leased");
    advanceClock(60_000);
    await tick();
    expect((await jobByUuid(job.uuid))!.state).toBe("failed");
    expect(handler.calls.failed).toHaveLength(1);
  });

  it("deletes finished jobs after seven days and keeps open ones", async () => {
    const now = freezeClock();
    const old = now - JOB_RETENTION_MS - 1;
    const rows = await Promise.all(["done", "failed", "cancelled", "queued", "done"].map(() => queueJob("build")));
    const states = ["done", "failed", "cancelled", "queued", "done"] as const;
    for (const [i, row] of rows.entries()) {
      const updatedAt = i === 4 ? now - JOB_RETENTION_MS + 1000 : old;
      await db().update(connectorJobs).set({ state: states[i], updatedAt }).where(eq(connectorJobs.id, row.id));
    }
    await tick();
    const left = await db().select({ uuid: connectorJobs.uuid }).from(connectorJobs).all();
    expect(left.map((r) => r.uuid).sort()).toEqual([rows[3]!.uuid, rows[4]!.uuid].sort());
  });
});
