/**
 * Connector helpers: connectors made through the domain, `/connector/v1` calls through the whole
 * Worker, jobs put on the queue as a feature would, a feature's open job leased as the queue would
 * lease it (for tests that call a job handler directly), and a recording job handler a test
 * registers in JOB_HANDLERS and removes afterwards.
 */
import { and, eq, inArray } from "drizzle-orm";
import { type ConnectorKind, createConnector } from "../../../src/connector/connectors";
import type { JobHandler, JobKind, JobProgress, JobSource, LeasedJob } from "../../../src/connector/job-kinds";
import { queueJobStatement } from "../../../src/connector/job-queue";
import { leasedJobOf } from "../../../src/connector/lease-state";
import { type Connector, type ConnectorJob, connectorJobs, connectors } from "../../../src/db/schema";
import { invalid } from "../../../src/errors/domain";
import { JOB_HANDLERS } from "../../../src/routes/connector-handlers";
import { db } from "./accounts";
import { answerOf } from "./api";
import { fixtureEvents } from "./events";
import { request } from "./registry";

export async function newConnector(
  kinds: ConnectorKind[] = ["build", "scan"],
  name = `c-${crypto.randomUUID().slice(0, 6)}`,
): Promise<{ connector: Connector; token: string }> {
  return createConnector(db(), { name, kinds, createdBy: null }, fixtureEvents());
}

/** A `/connector/v1` call with `token` (none when null) and the lease token `lease`, if any. */
export async function connectorCall(
  token: string | null,
  method: string,
  path: string,
  options: { body?: unknown; lease?: string; headers?: Record<string, string> } = {},
) {
  const headers: Record<string, string> = { ...options.headers };
  if (token !== null) headers.Authorization = `Bearer ${token}`;
  if (options.lease !== undefined) headers["X-Wharf-Lease"] = options.lease;
  if (options.body !== undefined) headers["Content-Type"] = "application/json";
  const body =
    options.body === undefined
      ? undefined
      : typeof options.body === "string"
        ? options.body
        : JSON.stringify(options.body);
  return answerOf(await request(method, `/connector/v1${path}`, { headers, body }));
}

export const lease = (token: string, kinds: JobKind[]) => connectorCall(token, "POST", "/lease", { body: { kinds } });

/** Queues a job as a feature does; returns its row. */
export async function queueJob(kind: JobKind, subject = crypto.randomUUID()): Promise<ConnectorJob> {
  await queueJobStatement(db(), { kind, subject, repositoryId: null });
  return (await jobBySubject(subject))!;
}

export const jobBySubject = (subject: string) =>
  db().select().from(connectorJobs).where(eq(connectorJobs.subject, subject)).get();

export const jobByUuid = (uuid: string) => db().select().from(connectorJobs).where(eq(connectorJobs.uuid, uuid)).get();

export const clearJobs = () => db().delete(connectorJobs);

/** The connector the handler tests' jobs are leased to, `builder-1`, made on first use. */
async function testConnector(): Promise<Connector> {
  const found = await db().select().from(connectors).where(eq(connectors.name, "builder-1")).get();
  return found ?? (await newConnector(["build", "scan"], "builder-1")).connector;
}

/**
 * Leases the open (queued or leased) job of `kind` for `subject` to `builder-1` as the queue
 * would: one attempt more and a fresh lease token (a leased one is leased again, as after its
 * lease ran out).
 */
export async function leaseOpenJob(kind: JobKind, subject: string): Promise<LeasedJob> {
  const connector = await testConnector();
  const open = and(
    eq(connectorJobs.kind, kind),
    eq(connectorJobs.subject, subject),
    inArray(connectorJobs.state, ["queued", "leased"]),
  );
  const job = await db().select().from(connectorJobs).where(open).get();
  if (!job) throw new Error(`no open ${kind} job for ${subject}`);
  const row = await db()
    .update(connectorJobs)
    .set({
      state: "leased",
      attempts: job.attempts + 1,
      leaseToken: crypto.randomUUID(),
      leaseExpiresAt: Date.now() + 60_000,
      connectorId: connector.id,
    })
    .where(eq(connectorJobs.id, job.id))
    .returning()
    .get();
  return leasedJobOf(row!, connector);
}

/** What a recording handler was handed, in order. */
export interface HandlerCalls {
  described: LeasedJob[];
  progress: JobProgress[];
  completed: unknown[];
  failed: { job: LeasedJob; reason: string }[];
}

/**
 * A handler for `kind` that records its calls; `describe` answers `{[kind]: {subject}}` unless
 * `skip` holds the job's subject (null: the job no longer applies). `complete` refuses a result
 * without `ok: true`, as a feature's zod would.
 */
export function recordingHandler(
  kind: JobKind,
  options: { skip?: Set<string>; progress?: boolean; source?: string } = {},
): JobHandler & { calls: HandlerCalls } {
  const calls: HandlerCalls = { described: [], progress: [], completed: [], failed: [] };
  const handler: JobHandler & { calls: HandlerCalls } = {
    kind,
    calls,
    async describe(job) {
      calls.described.push(job);
      return options.skip?.has(job.subject) ? null : { [kind]: { subject: job.subject } };
    },
    async complete(_job, result) {
      if ((result as { ok?: unknown })?.ok !== true) throw invalid("ok: must be true");
      calls.completed.push(result);
    },
    async fail(job, reason) {
      calls.failed.push({ job, reason });
    },
  };
  if (options.progress !== false)
    handler.progress = async (_job, report) => {
      calls.progress.push(report);
    };
  if (options.source !== undefined) {
    const text = options.source;
    handler.source = async (): Promise<JobSource> => {
      const bytes = new TextEncoder().encode(text);
      return { body: new Blob([bytes]).stream(), size: bytes.byteLength, contentType: "application/x-tar" };
    };
  }
  return handler;
}

/** Registers `handler` in JOB_HANDLERS; the returned function removes it. */
export function registerHandler(handler: JobHandler): () => void {
  JOB_HANDLERS[handler.kind] = handler;
  return () => {
    delete JOB_HANDLERS[handler.kind];
  };
}
