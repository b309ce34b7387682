/**
 * Putting work on the connectors' queue (`connector_jobs`, src/db/schema.ts). A feature adds its
 * job's statement to the batch of the change that needs the work (a build's row, a pushed
 * manifest's scan), so the two commit together. At most one job per kind and subject is open
 * (queued or leased): queueing what is already open does nothing (a manifest pushed to two
 * repositories is scanned once). Leasing, renewal and completion are src/connector/leases.ts.
 */
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
