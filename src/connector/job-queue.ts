/**
 * Putting work on the connectors' queue (`connector_jobs`, src/db/schema.ts). A feature adds its
 * job's statement to the batch of the change that needs the work (a build's row, a pushed
 * manifest's scan), so the two commit together. At most one job per kind and subject is open
 * (queued or leased): queueing what is already open does nothing (a manifest pushed to two
 * repositories is scanned once); cancelling one joins the batch of the change that cancels it the
 * same way. Leasing, renewal and completion are src/connector/leases.ts.
 */
import { and, eq, inArray, type SQL } from "drizzle-orm";
import type { Db } from "../db/client";
import { connectorJobs } from "../db/schema";
import { clock } from "../lib/clock";
import type { JobKind } from "./job-kinds";

export interface NewJob {
  kind: JobKind;
  subject: string;
  repositoryId: number | null;
  /** Not before this (unix ms); now when omitted. */
  availableAt?: number;
}

/** The statement that queues `job` unless one of its kind and subject is open already. */
export function queueJobStatement(db: Db, job: NewJob) {
  const now = clock.now();
  return db
    .insert(connectorJobs)
    .values({
      uuid: crypto.randomUUID(),
      kind: job.kind,
      subject: job.subject,
      repositoryId: job.repositoryId,
      availableAt: job.availableAt ?? now,
      createdAt: now,
      updatedAt: now,
    })
    .onConflictDoNothing();
}

/**
 * The statement cancelling the open (queued or leased) job of `kind` for `subject`, for the batch
 * of the change that cancels it (a cancelled build), and only if `onlyIf` holds when it runs (that
 * change happened). The lease token stays: the holder's next call, and only the holder's, answers
 * 409 with `cancelled: true`, so the connector stops the work. Returns the ids it cancelled.
 */
export function cancelJobStatement(db: Db, kind: JobKind, subject: string, reason: string, onlyIf?: SQL) {
  return db
    .update(connectorJobs)
    .set({ state: "cancelled", error: reason, updatedAt: clock.now() })
    .where(
      and(
        eq(connectorJobs.kind, kind),
        eq(connectorJobs.subject, subject),
        inArray(connectorJobs.state, ["queued", "leased"]),
        onlyIf,
      ),
    )
    .returning({ id: connectorJobs.id });
}
