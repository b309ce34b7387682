/**
 * Leasing the connectors' jobs (docs/connector.md; the queue is `connector_jobs`, filled by
 * ./job-queue.ts). A connector leases the oldest due job of the kinds it asks for; the lease is a
 * conditional update on the row as it was read (still queued, the same attempt count), so of two
 * connectors that read the same row one wins and the other takes the next. While it holds the
 * lease (each heartbeat renews it) the connector reports progress, then completes or fails the
 * job; every such call names the lease token, and a stale one changes nothing (409). A lease not
 * renewed in time returns the job to the queue (./lease-expiry.ts); the third lease that runs out
 * fails the job for good. A feature cancels its job with ./job-queue.ts `cancelJobStatement`.
 */
import { and, eq, gt, inArray, lte, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { type Connector, connectorJobs, connectors } from "../db/schema";
import { invalid, notFound } from "../errors/domain";
import { clock } from "../lib/clock";
import type { JobKind, JobProgress, JobSource, LeasedJob } from "./job-kinds";
import { expireLeases } from "./lease-expiry";
import {
  closeCancelled,
  failForGood,
  GONE,
  type JobContextOf,
  type JobHandlers,
  LEASE_MS,
  type LeaseHolder,
  leasedJobOf,
  leaseLost,
  MAX_ATTEMPTS,
  newLeaseToken,
  requeue,
  retryDelayMs,
  underLease,
} from "./lease-state";

/** Rows a lease call tries before it answers "nothing due" (each lost to a race or cancelled). */
const LEASE_TRIES = 10;

/**
 * Takes the lease of queued job `candidate` for `connector`, if it is still as it was read:
 * queued, with the same attempt count (a job re-queued in between has one more). Null when
 * another lease came first.
 */
export async function claimJob(
  db: Db,
  candidate: { id: number; attempts: number },
  connector: Connector,
): Promise<LeasedJob | null> {
  const now = clock.now();
  const row = await db
    .update(connectorJobs)
    .set({
      state: "leased",
      attempts: sql`${connectorJobs.attempts} + 1`,
      connectorId: connector.id,
      leaseToken: newLeaseToken(),
      leaseExpiresAt: now + LEASE_MS,
      updatedAt: now,
    })
    .where(
      and(
        eq(connectorJobs.id, candidate.id),
        eq(connectorJobs.state, "queued"),
        eq(connectorJobs.attempts, candidate.attempts),
      ),
    )
    .returning()
    .get();
  return row ? leasedJobOf(row, connector) : null;
}

/**
 * Leases the oldest due job of `kinds` (the caller checked the connector may lease them) that a
 * handler serves, with what its handler tells the connector; null when none is due. Expired leases
 * go back to the queue first. A job whose handler says it no longer applies is closed as cancelled
 * and the next one is leased.
 */
export async function leaseJob(
  db: Db,
  connector: Connector,
  kinds: readonly JobKind[],
  handlers: JobHandlers,
  contextOf: JobContextOf,
): Promise<{ job: LeasedJob; fields: Record<string, unknown> } | null> {
  await expireLeases(db, handlers, contextOf);
  const served = kinds.filter((kind) => handlers[kind] !== undefined);
  if (served.length === 0) return null;
  for (let tries = 0; tries < LEASE_TRIES; tries++) {
    const candidate = await db
      .select({ id: connectorJobs.id, attempts: connectorJobs.attempts })
      .from(connectorJobs)
      .where(
        and(
          eq(connectorJobs.state, "queued"),
          inArray(connectorJobs.kind, served),
          lte(connectorJobs.availableAt, clock.now()),
        ),
      )
      .orderBy(connectorJobs.availableAt, connectorJobs.id)
      .limit(1)
      .get();
    if (!candidate) return null;
    const job = await claimJob(db, candidate, connector);
    if (!job) continue;
    const handler = handlers[job.kind]!;
    let fields: Record<string, unknown> | null;
    try {
      fields = await handler.describe(job, contextOf(job.kind));
    } catch (err) {
      // The job is not the connector's fault: back on the queue after a backoff, or failed for
      // good on its last lease, and the caller answers the error.
      await settleFailure(db, job, `the job could not be described: ${String(err)}`, true, handlers, contextOf);
      throw err;
    }
    if (fields === null) {
      await closeCancelled(db, job, "the job no longer applies");
      continue;
    }
    return { job, fields };
  }
  return null;
}

/**
 * The job `uuid` as `connector` holds it under `leaseToken`, its lease renewed from now when
 * `renew` (a heartbeat, a result); with no connector (the source download, which the lease token
 * alone opens: docs/connector.md) whoever holds that lease. Refused: an unknown job (404), one
 * cancelled under this lease (409 with `cancelled`), any other lease (409 `lease_lost`). The
 * source download never renews: only the connector's bearer keeps a job leased, so a lease token
 * that leaked without it cannot hold a job forever.
 */
export async function holdLease(
  db: Db,
  connector: Connector | null,
  uuid: string,
  leaseToken: string,
  renew = true,
): Promise<LeasedJob> {
  const now = clock.now();
  const held = and(
    eq(connectorJobs.uuid, uuid),
    eq(connectorJobs.state, "leased"),
    connector === null ? undefined : eq(connectorJobs.connectorId, connector.id),
    eq(connectorJobs.leaseToken, leaseToken),
    // A lease that ran out is no longer held, even before the sweep returns the job to the queue.
    gt(connectorJobs.leaseExpiresAt, now),
  );
  const row = renew
    ? await db
        .update(connectorJobs)
        .set({ leaseExpiresAt: now + LEASE_MS, updatedAt: now })
        .where(held)
        .returning()
        .get()
    : await db.select().from(connectorJobs).where(held).get();
  if (row) return leasedJobOf(row, connector ?? (await holderOf(db, row.connectorId)));
  const found = await db.select().from(connectorJobs).where(eq(connectorJobs.uuid, uuid)).get();
  if (!found) throw notFound();
  const mine = found.leaseToken === leaseToken && (connector === null || found.connectorId === connector.id);
  throw leaseLost(mine && found.state === "cancelled");
}

async function holderOf(db: Db, id: number | null): Promise<LeaseHolder> {
  if (id === null) return GONE;
  const found = await db
    .select({ id: connectors.id, uuid: connectors.uuid, name: connectors.name })
    .from(connectors)
    .where(eq(connectors.id, id))
    .get();
  return found ?? GONE;
}

/** A heartbeat: renews the lease and hands the progress (a build's phase and logs) to the handler. */
export async function heartbeat(
  db: Db,
  connector: Connector,
  uuid: string,
  leaseToken: string,
  report: JobProgress,
  handlers: JobHandlers,
  contextOf: JobContextOf,
): Promise<LeasedJob> {
  const job = await holdLease(db, connector, uuid, leaseToken);
  if (report.phase === undefined && (report.logs ?? []).length === 0) return job;
  const handler = handlers[job.kind];
  if (!handler?.progress) throw invalid(`A ${job.kind} job reports no progress`);
  await handler.progress(job, report, contextOf(job.kind));
  return job;
}

/** The connector's result: the handler commits it, then the job is done (the lease still held). */
export async function completeJob(
  db: Db,
  connector: Connector,
  uuid: string,
  leaseToken: string,
  result: unknown,
  handlers: JobHandlers,
  contextOf: JobContextOf,
): Promise<void> {
  const job = await holdLease(db, connector, uuid, leaseToken);
  const handler = handlers[job.kind];
  if (!handler) throw invalid(`No ${job.kind} jobs are served here`);
  await handler.complete(job, result, contextOf(job.kind));
  await db
    .update(connectorJobs)
    .set({ state: "done", error: null, updatedAt: clock.now() })
    .where(underLease(job.id, job.leaseToken));
}

/** The connector's failure: retried after a backoff while leases remain and it asks, else failed for good. */
export async function failJob(
  db: Db,
  connector: Connector,
  uuid: string,
  leaseToken: string,
  failure: { error: string; retry: boolean },
  handlers: JobHandlers,
  contextOf: JobContextOf,
): Promise<void> {
  const job = await holdLease(db, connector, uuid, leaseToken);
  await settleFailure(db, job, failure.error, failure.retry, handlers, contextOf);
}

async function settleFailure(
  db: Db,
  job: LeasedJob,
  error: string,
  retry: boolean,
  handlers: JobHandlers,
  contextOf: JobContextOf,
): Promise<void> {
  if (retry && job.attempts < MAX_ATTEMPTS) {
    await requeue(db, job, clock.now() + retryDelayMs(job.attempts), error.slice(0, 4096));
    return;
  }
  await failForGood(db, job, error, handlers[job.kind], contextOf(job.kind));
}

/** A build's uploaded source for its lease holder, streamed; null when the job has none. */
export async function jobSource(
  db: Db,
  connector: Connector | null,
  uuid: string,
  leaseToken: string,
  handlers: JobHandlers,
  contextOf: JobContextOf,
): Promise<JobSource | null> {
  const job = await holdLease(db, connector, uuid, leaseToken, false);
  const handler = handlers[job.kind];
  return handler?.source ? handler.source(job, contextOf(job.kind)) : null;
}
