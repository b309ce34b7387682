/**
 * The numbers and the row changes every part of the connectors' queue shares (docs/connector.md,
 * "Calls"): a lease lasts {@link LEASE_MS} and is renewed by each heartbeat; a job is leased at
 * most {@link MAX_ATTEMPTS} times. Every change to a leased row is conditional on the lease token
 * it was read with, so of two writers that read the same lease only one changes the row.
 */
import { and, eq, isNull, type SQL } from "drizzle-orm";
import type { Db } from "../db/client";
import { type ConnectorJob, connectorJobs } from "../db/schema";
import { DomainError } from "../errors/domain";
import { generateToken } from "../identity/tokens";
import { clock } from "../lib/clock";
import type { JobContext, JobHandler, JobKind, LeasedJob } from "./job-kinds";

export const LEASE_MS = 60_000;
export const HEARTBEAT_SECONDS = 15;
/** How long a connector that found nothing due waits before it asks again. */
export const POLL_SECONDS = 5;
export const MAX_ATTEMPTS = 3;
/** A retried job waits this times 2^attempts (60 s after the first lease, 120 s after the second). */
export const RETRY_BACKOFF_MS = 30_000;

export type JobHandlers = Partial<Record<JobKind, JobHandler>>;
/** What a handler is handed for a job of `kind` (the connector's request, or the cron's pass). */
export type JobContextOf = (kind: JobKind) => JobContext;

export interface LeaseHolder {
  id: number;
  uuid: string;
  name: string;
}

/** A lease whose connector has gone (its row deleted while the lease was being settled). */
export const GONE: LeaseHolder = { id: 0, uuid: "", name: "" };

export const retryDelayMs = (attempts: number) => RETRY_BACKOFF_MS * 2 ** attempts;

export const newLeaseToken = () => generateToken();

/** A job's current lease holder may no longer act on it: 409 `lease_lost` (docs/connector.md). */
export function leaseLost(cancelled: boolean): DomainError {
  return new DomainError("conflict", {
    message: cancelled ? "The job was cancelled" : "This lease is not the job's current one",
    fields: cancelled ? { error: "lease_lost", cancelled: true } : { error: "lease_lost" },
  });
}

export function leasedJobOf(row: ConnectorJob, holder: LeaseHolder): LeasedJob {
  return {
    id: row.id,
    uuid: row.uuid,
    kind: row.kind,
    subject: row.subject,
    repositoryId: row.repositoryId,
    attempts: row.attempts,
    leaseToken: row.leaseToken ?? "",
    leaseExpiresAt: row.leaseExpiresAt ?? 0,
    connector: { id: holder.id, uuid: holder.uuid, name: holder.name },
  };
}

/** The row is still leased under `token`. */
export function underLease(id: number, token: string | null): SQL {
  return and(
    eq(connectorJobs.id, id),
    eq(connectorJobs.state, "leased"),
    token === null ? isNull(connectorJobs.leaseToken) : eq(connectorJobs.leaseToken, token),
  )!;
}

/**
 * Puts a job leased under `token` back on the queue, due at `availableAt`, with why its lease
 * ended; false when the lease had already changed.
 */
export async function requeue(
  db: Db,
  job: { id: number; leaseToken: string | null },
  availableAt: number,
  error: string | null,
): Promise<boolean> {
  const rows = await db
    .update(connectorJobs)
    .set({
      state: "queued",
      connectorId: null,
      leaseToken: null,
      leaseExpiresAt: null,
      availableAt,
      error,
      updatedAt: clock.now(),
    })
    .where(underLease(job.id, job.leaseToken))
    .returning({ id: connectorJobs.id });
  return rows.length > 0;
}

/**
 * Ends a job for good: its handler commits the failure (a build's error phase, a scan's `failed`),
 * then the row is marked failed, under the lease the caller holds (it renewed or took it, so no
 * one else settles the job meanwhile). A handler that throws leaves the job leased: its lease runs
 * out and the next sweep tries again.
 */
export async function failForGood(
  db: Db,
  job: LeasedJob,
  reason: string,
  handler: JobHandler | undefined,
  ctx: JobContext,
): Promise<void> {
  await handler?.fail(job, reason, ctx);
  await db
    .update(connectorJobs)
    .set({ state: "failed", error: reason.slice(0, 4096), updatedAt: clock.now() })
    .where(underLease(job.id, job.leaseToken));
}

/** Closes a leased job as cancelled: its handler said it no longer applies. */
export async function closeCancelled(db: Db, job: LeasedJob, reason: string): Promise<void> {
  await db
    .update(connectorJobs)
    .set({ state: "cancelled", error: reason, updatedAt: clock.now() })
    .where(underLease(job.id, job.leaseToken));
}
