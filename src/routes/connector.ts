/**
 * `/connector/v1`: the origin connectors' surface (docs/connector.md is the contract). Every call
 * but the layer and source downloads carries the connector's bearer token; a job's calls also
 * carry its lease token (`X-Wharf-Lease`), and only the connector holding that lease may act on
 * the job. Errors are `{"error": "<code>", "message"}` with the status the contract names. The
 * queue is src/connector/leases.ts; what each kind of job means is its handler's
 * (./connector-handlers.ts).
 */
import { type Context, Hono } from "hono";
import { z } from "zod";
import {
  authenticateConnector,
  connectorKinds,
  leasableKinds,
  recordHello,
  touchConnector,
} from "../connector/connectors";
import type { JobKind } from "../connector/job-kinds";
import { HEARTBEAT_SECONDS, type JobContextOf, LEASE_MS, POLL_SECONDS } from "../connector/lease-state";
import { type Swept, sweepJobs } from "../connector/lease-expiry";
import { completeJob, failJob, heartbeat, jobSource, leaseJob } from "../connector/leases";
import { readConfig } from "../config";
import { database } from "../db/client";
import type { Connector } from "../db/schema";
import { DomainError, invalid, notFound } from "../errors/domain";
import { systemOrigin } from "../events/envelope";
import { eventScope } from "../events/outbox";
import { clock } from "../lib/clock";
import { readBounded } from "../lib/http";
import { BodyEndedEarlyError } from "../lib/request-body";
import { apiErrorOf } from "./api/errors";
import type { AppEnv } from "./app-env";
import { JOB_HANDLERS } from "./connector-handlers";
import { loggableError } from "../lib/loggable-error";

type ConnectorEnv = { Bindings: Env; Variables: AppEnv["Variables"] & { connector: Connector } };
type ConnectorContext = Context<ConnectorEnv>;

/** A completion carries a job's result (a Clair report can be large); every other body is small. */
const COMPLETE_BYTES = 32 * 1024 * 1024;
const BODY_BYTES = 1024 * 1024;

/** The contract's error codes, by the domain's kind of error. */
const CODES: Partial<Record<DomainError["kind"], [number, string]>> = {
  not_found: [404, "not_found"],
  invalid: [400, "invalid"],
  unauthorized: [401, "unauthorized"],
  denied: [403, "denied"],
  conflict: [409, "conflict"],
  too_large: [413, "too_large"],
};

function connectorError(status: number, error: string, message: string, extra: Record<string, unknown> = {}) {
  return new Response(JSON.stringify({ error, message, ...extra }), {
    status,
    headers: {
      "Content-Type": "application/json",
      ...(status === 401 ? { "WWW-Authenticate": 'Bearer realm="wharf-connector"' } : {}),
    },
  });
}

export const connectorRoutes = new Hono<ConnectorEnv>();

connectorRoutes.onError((err, c) => {
  if (err instanceof BodyEndedEarlyError) return connectorError(400, "invalid", "The body ended early");
  if (err instanceof DomainError) {
    const [status, code] = CODES[err.kind] ?? [apiErrorOf(err).status, err.kind];
    const { error, ...extra } = err.fields;
    return connectorError(status, typeof error === "string" ? error : code, err.message, extra);
  }
  console.error(JSON.stringify({ msg: "connector call failed", path: c.req.path, err: loggableError(err) }));
  return connectorError(500, "internal", "Internal error");
});

/** Every call but the downloads: the bearer token of a connector that exists; seen now. */
async function authenticate(c: ConnectorContext, next: () => Promise<void>) {
  const header = c.req.header("Authorization") ?? "";
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  const connector = await authenticateConnector(c.var.db, match?.[1] ?? null);
  if (!connector) throw new DomainError("unauthorized", { message: "A connector token is required" });
  await touchConnector(c.var.db, connector);
  c.set("connector", connector);
  await next();
}

connectorRoutes.use("/hello", authenticate);
connectorRoutes.use("/lease", authenticate);
for (const call of ["heartbeat", "complete", "fail"]) connectorRoutes.use(`/jobs/:uuid/${call}`, authenticate);
// The source download is opened by its lease token alone (docs/connector.md); a bearer token
// sent with it must still be a connector's, and that connector the lease's holder.
connectorRoutes.use("/jobs/:uuid/source", (c, next) =>
  c.req.header("Authorization") === undefined ? next() : authenticate(c, next),
);

/** The body as JSON, refused past `limit` bytes (declared or counted) and checked with `schema`. */
async function body<S extends z.ZodType>(c: ConnectorContext, schema: S, limit = BODY_BYTES): Promise<z.infer<S>> {
  const bytes = await readBounded(
    c.req.raw,
    limit,
    () => new DomainError("too_large", { message: `The body is larger than ${limit} bytes` }),
  );
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes));
  } catch {
    throw invalid("The body is not JSON");
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw invalid(issue ? `${issue.path.join(".") || "body"}: ${issue.message}` : "Invalid body");
  }
  return parsed.data;
}

/** What each kind's handler is handed: the edge's origin, and events as the builder or the scanner. */
function contextOf(c: ConnectorContext): JobContextOf {
  return (kind: JobKind) => ({
    env: c.env,
    origin: c.var.publicOrigin.origin,
    scope: eventScope(c.env, systemOrigin(kind === "build" ? "builder" : "scanner"), (p) =>
      c.executionCtx.waitUntil(p),
    ),
  });
}

const helloBody = z.object({
  version: z.string().max(64),
  hostname: z.string().max(255),
  builder: z.enum(["buildah", "podman"]).nullable(),
  scanner: z.boolean(),
});

connectorRoutes.post("/hello", async (c) => {
  const { version, hostname, builder, scanner } = await body(c, helloBody);
  const connector = c.var.connector;
  await recordHello(c.var.db, connector, { version, hostname, builder, scanner });
  return c.json({
    connector: { uuid: connector.uuid, name: connector.name, kinds: leasableKinds(connectorKinds(connector)) },
    lease_seconds: LEASE_MS / 1000,
    heartbeat_seconds: HEARTBEAT_SECONDS,
    poll_seconds: POLL_SECONDS,
    server_time: clock.now(),
  });
});

const leaseBody = z.object({
  kinds: z
    .array(z.enum(["build", "scan", "scan_notification"]))
    .min(1)
    .max(3),
});

connectorRoutes.post("/lease", async (c) => {
  const { kinds } = await body(c, leaseBody);
  const connector = c.var.connector;
  const allowed = leasableKinds(connectorKinds(connector));
  const refused = kinds.find((kind) => !allowed.includes(kind));
  if (refused) throw new DomainError("denied", { message: `This connector may not lease ${refused} jobs` });
  const leased = await leaseJob(c.var.db, connector, kinds, JOB_HANDLERS, contextOf(c));
  if (!leased) return c.body(null, 204);
  const { job, fields } = leased;
  return c.json({
    job: {
      ...fields,
      uuid: job.uuid,
      kind: job.kind,
      lease_token: job.leaseToken,
      lease_expires_at: job.leaseExpiresAt,
      attempts: job.attempts,
    },
  });
});

/** The job's uuid and the lease the call names. */
function jobCall(c: ConnectorContext): { uuid: string; lease: string } {
  const uuid = c.req.param("uuid") ?? "";
  if (!z.uuid().safeParse(uuid).success) throw notFound();
  const lease = c.req.header("X-Wharf-Lease");
  if (!lease || lease.length > 128) throw invalid("X-Wharf-Lease names the job's lease");
  return { uuid, lease };
}

const heartbeatBody = z.object({
  phase: z.string().min(1).max(64).optional(),
  logs: z
    .array(
      z.object({
        message: z.string().max(64 * 1024),
        type: z.string().max(64).optional(),
        data: z.record(z.string(), z.unknown()).optional(),
      }),
    )
    .max(1000)
    .optional(),
});

connectorRoutes.post("/jobs/:uuid/heartbeat", async (c) => {
  const { uuid, lease } = jobCall(c);
  const report = await body(c, heartbeatBody);
  const job = await heartbeat(c.var.db, c.var.connector, uuid, lease, report, JOB_HANDLERS, contextOf(c));
  return c.json({ lease_expires_at: job.leaseExpiresAt });
});

connectorRoutes.post("/jobs/:uuid/complete", async (c) => {
  const { uuid, lease } = jobCall(c);
  const result = await body(c, z.unknown(), COMPLETE_BYTES);
  await completeJob(c.var.db, c.var.connector, uuid, lease, result, JOB_HANDLERS, contextOf(c));
  return c.json({});
});

const failBody = z.object({
  error: z
    .string()
    .min(1)
    .max(64 * 1024),
  retry: z.boolean(),
});

connectorRoutes.post("/jobs/:uuid/fail", async (c) => {
  const { uuid, lease } = jobCall(c);
  const failure = await body(c, failBody);
  await failJob(c.var.db, c.var.connector, uuid, lease, failure, JOB_HANDLERS, contextOf(c));
  return c.json({});
});

connectorRoutes.get("/jobs/:uuid/source", async (c) => {
  const { uuid, lease } = jobCall(c);
  const source = await jobSource(c.var.db, c.var.connector ?? null, uuid, lease, JOB_HANDLERS, contextOf(c));
  if (!source) throw new DomainError("not_found", { message: "This job has no source" });
  const headers: Record<string, string> = { "Content-Type": source.contentType };
  if (source.size !== null) headers["Content-Length"] = String(source.size);
  return new Response(source.body, { headers });
});

/**
 * The cron's pass over the queue (src/index.ts): leases that ran out while no connector polled,
 * and finished jobs past their retention. A handler's events are published before it returns.
 */
export async function sweepConnectorJobs(env: Env): Promise<Swept> {
  const { SERVER_HOSTNAME, PREFERRED_URL_SCHEME } = readConfig(env);
  const origin = SERVER_HOSTNAME ? `${PREFERRED_URL_SCHEME || "https"}://${SERVER_HOSTNAME}` : "";
  const pending: Promise<unknown>[] = [];
  const swept = await sweepJobs(database(env.DB), JOB_HANDLERS, (kind) => ({
    env,
    origin,
    scope: eventScope(env, systemOrigin(kind === "build" ? "builder" : "scanner"), (p) => pending.push(p)),
  }));
  await Promise.all(pending);
  return swept;
}

/** An unknown path under `/connector/` (src/app.ts's notFound), in the contract's error shape. */
export const connectorNotFound = () => connectorError(404, "not_found", "No such connector call");
