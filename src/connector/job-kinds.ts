/**
 * The contract between the connectors' job queue (src/connector/, the `/connector/v1` surface) and
 * the features whose work runs on-prem: builds (src/builds/), security scans and Clair's
 * notifications (src/secscan/). The queue knows leases and nothing of builds or scans; each kind
 * brings a {@link JobHandler} that says what the connector must be told, and what a result or a
 * failure changes. The routes layer hands the queue the handlers (imports point down).
 */
import type { ConnectorJob } from "../db/schema";
import type { EventScope } from "../events/outbox";

export type JobKind = ConnectorJob["kind"];

/** A job as its lease holder sees it. */
export interface LeasedJob {
  id: number;
  uuid: string;
  kind: JobKind;
  subject: string;
  repositoryId: number | null;
  /** How many times it has been leased, this lease included. */
  attempts: number;
  leaseToken: string;
  /** Unix ms. */
  leaseExpiresAt: number;
  /** The connector holding the lease: its uuid and name. */
  connector: { id: number; uuid: string; name: string };
}

/** What a handler may need from the request that leased or reported: where the edge is. */
export interface JobContext {
  env: Env;
  /** The edge's public origin (`https://registry.example`), for URLs handed to the connector. */
  origin: string;
  scope: EventScope;
}

/** A connector's progress report (a build's phase, log lines), as the queue received it. */
export interface JobProgress {
  /** Quay's build phase the connector entered, when it changed. */
  phase?: string;
  /** Log entries to append, in order (Quay's `{message, type?, data?}`). */
  logs?: { message: string; type?: string; data?: Record<string, unknown> }[];
}

export interface JobHandler {
  readonly kind: JobKind;
  /**
   * What the connector needs to run the job, sent in the lease's answer (JSON), or null when the
   * job no longer applies (its build cancelled, its repository or manifest gone): the queue then
   * closes it as cancelled and leases the next. Called once per lease.
   */
  describe(job: LeasedJob, ctx: JobContext): Promise<Record<string, unknown> | null>;
  /** A progress report while the lease holds; builds only (others refuse it as invalid). */
  progress?(job: LeasedJob, report: JobProgress, ctx: JobContext): Promise<void>;
  /**
   * The connector's result (the body of its completion, unparsed: the handler checks it with zod
   * and throws DomainError `invalid` for a bad one, leaving the job leased). Commits what the job
   * produced and its events; the queue then marks the job done.
   */
  complete(job: LeasedJob, result: unknown, ctx: JobContext): Promise<void>;
  /**
   * The bytes of a build's uploaded source (`GET /connector/v1/jobs/{uuid}/source`), or null
   * when the job has none; builds only.
   */
  source?(job: LeasedJob, ctx: JobContext): Promise<JobSource | null>;
  /**
   * The job failed for good: the connector said so, or its leases ran out (`reason` says which).
   * Commits the failure (a build's `error` phase and `build_failed`, a scan's `failed` status).
   */
  fail(job: LeasedJob, reason: string, ctx: JobContext): Promise<void>;
}

/** A job's source file, streamed from storage to the connector. */
export interface JobSource {
  body: ReadableStream<Uint8Array>;
  size: number | null;
  contentType: string;
}
