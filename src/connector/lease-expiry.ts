/**
 * Leases that ran out (docs/connector.md: "A lease not renewed in time returns the job to the
 * queue"): a connector killed mid-build stops renewing, and its job goes back to the queue to be
 * leased again, or fails for good once it has been leased {@link MAX_ATTEMPTS} times. Run before
 * every lease, so a waiting connector never waits for the cron, and by the cron's sweep
 * ({@link sweepJobs}), so a job expires even when no connector polls.
 */
import { and, eq, inArray, lt, lte } from "drizzle-orm";
import type { Db } from "../db/client";
import { connectorJobs, connectors } from "../db/schema";
import { clock } from "../lib/clock";
import {
  failForGood,
  GONE,
  type JobContextOf,
  type JobHandlers,
  LEASE_MS,
  leasedJobOf,
  MAX_ATTEMPTS,
  newLeaseToken,
  requeue,
  underLease,
} from "./lease-state";
import { loggableError } from "../lib/loggable-error";

/** Expired leases settled per pass; the rest wait for the next lease or sweep. */
const EXPIRED_PER_PASS = 100;

/** Finished jobs (done, failed, cancelled) are kept this long for the operator, then deleted. */
export const JOB_RETENTION_MS = 7 * 86_400_000;

export const EXPIRED_REASON = "the connector stopped renewing its lease";
export const EXHAUSTED_REASON = `the job's lease ran out ${MAX_ATTEMPTS} times: its connector stopped responding`;

export interface Expired {
  requeued: number;
  failed: number;
}

/**
 * Returns the jobs whose lease ran out to the queue, due now; one leased {@link MAX_ATTEMPTS}
 * times fails for good through its handler instead. For that, the lease is first taken over under
 * a fresh token (so a second sweep running at the same time leaves it alone), then the handler
 * commits the failure. A handler that throws is logged: its job stays leased under the new token,
 * whose lease runs out in turn, and a later pass tries again.
 */
export async function expireLeases(db: Db, handlers: JobHandlers, contextOf: JobContextOf): Promise<Expired> {
  const now = clock.now();
  const rows = await db
    .select({ job: connectorJobs, holder: { id: connectors.id, uuid: connectors.uuid, name: connectors.name } })
    .from(connectorJobs)
    .leftJoin(connectors, eq(connectors.id, connectorJobs.connectorId))
    .where(and(eq(connectorJobs.state, "leased"), lte(connectorJobs.leaseExpiresAt, now)))
    .orderBy(connectorJobs.leaseExpiresAt)
    .limit(EXPIRED_PER_PASS)
    .all();
  const expired: Expired = { requeued: 0, failed: 0 };
  for (const { job: row, holder } of rows) {
    if (row.attempts < MAX_ATTEMPTS) {
      if (await requeue(db, row, now, EXPIRED_REASON)) expired.requeued++;
      continue;
    }
    const taken = await db
      .update(connectorJobs)
      .set({ leaseToken: newLeaseToken(), leaseExpiresAt: now + LEASE_MS, updatedAt: now })
      .where(and(underLease(row.id, row.leaseToken), lte(connectorJobs.leaseExpiresAt, now)))
      .returning()
      .get();
    if (!taken) continue;
    const job = leasedJobOf(taken, holder ?? GONE);
    try {
      await failForGood(db, job, EXHAUSTED_REASON, handlers[job.kind], contextOf(job.kind));
      expired.failed++;
    } catch (err) {
      console.error(
        JSON.stringify({ msg: "a job's failure was not committed", job: job.uuid, err: loggableError(err) }),
      );
    }
  }
  return expired;
}

export interface Swept extends Expired {
  deleted: number;
}

/** The cron's pass over the queue: expired leases, then finished jobs older than {@link JOB_RETENTION_MS}. */
export async function sweepJobs(db: Db, handlers: JobHandlers, contextOf: JobContextOf): Promise<Swept> {
  const expired = await expireLeases(db, handlers, contextOf);
  const result = await db
    .delete(connectorJobs)
    .where(
      and(
        inArray(connectorJobs.state, ["done", "failed", "cancelled"]),
        lt(connectorJobs.updatedAt, clock.now() - JOB_RETENTION_MS),
      ),
    )
    .run();
  return { ...expired, deleted: result.meta.changes ?? 0 };
}
