/**
 * `/api/v1/superuser/connectors`: Wharf's own superuser operations on the origin connectors
 * (docs/connector.md, "Who may call"; Quay has no connectors, its build managers and security
 * workers run inside the registry). A superuser lists, creates (the token is shown once) and
 * deletes connectors, and reads the queue of their jobs. Superusers only, as Quay's superuser
 * endpoints (super:user and SUPER_USERS); changes need a fresh login, as Quay's superuser changes.
 */
import { Hono } from "hono";
import { z } from "zod";
import {
  CONNECTOR_KINDS,
  connectorInfo,
  connectorKinds,
  createConnector,
  deleteConnector,
  findConnector,
  listConnectors,
} from "../../connector/connectors";
import { listJobs, type ListedJob } from "../../connector/job-listing";
import type { Connector } from "../../db/schema";
import { notFound } from "../../errors/domain";
import { quayDate } from "../../identity/app-tokens";
import { callerWith, requireFreshLogin, requireSuperuser } from "../../middleware/api-caller";
import { requestEvents } from "../../middleware/event-scope";
import type { AppEnv } from "../app-env";
import { documented } from "./openapi";
import { listingPage, listingPageQuery, nextPageOf } from "./page-token";
import { jsonBody, parseOrInvalid } from "./validate";

export const superuserConnectorRoutes = new Hono<AppEnv>();

superuserConnectorRoutes.use("/superuser/connectors", requireSuperuser());
superuserConnectorRoutes.use("/superuser/connectors/*", requireSuperuser());

function connectorView(connector: Connector, leasedJobs: number) {
  return {
    uuid: connector.uuid,
    name: connector.name,
    kinds: connectorKinds(connector),
    created: quayDate(connector.createdAt),
    last_seen: quayDate(connector.lastSeenAt),
    info: connectorInfo(connector),
    leased_jobs: leasedJobs,
  };
}

function jobView({ job, repository, connector }: ListedJob) {
  return {
    uuid: job.uuid,
    kind: job.kind,
    subject: job.subject,
    state: job.state,
    attempts: job.attempts,
    repository,
    connector,
    available: quayDate(job.availableAt),
    lease_expires: quayDate(job.leaseExpiresAt),
    error: job.error,
    created: quayDate(job.createdAt),
    updated: quayDate(job.updatedAt),
  };
}

documented("GET", "/superuser/connectors", {
  operationId: "listConnectors",
  summary: "Lists the origin connectors, with how many jobs each holds leased.",
  scope: "super:user",
});
superuserConnectorRoutes.get("/superuser/connectors", async (c) => {
  const rows = await listConnectors(c.var.db);
  return c.json({ connectors: rows.map((r) => connectorView(r.connector, r.leasedJobs)) });
});

const createBody = z.object({
  name: z.string().trim().min(1).max(64),
  kinds: z.array(z.enum(CONNECTOR_KINDS)).min(1).max(8),
});

documented("POST", "/superuser/connectors", {
  operationId: "createConnector",
  summary: "Creates an origin connector; its token is in this answer only.",
  scope: "super:user",
  body: createBody,
  status: 201,
});
superuserConnectorRoutes.post("/superuser/connectors", requireFreshLogin(), async (c) => {
  const body = await jsonBody(c, createBody);
  const me = callerWith(c.var.caller, "super:user");
  const input = { name: body.name, kinds: body.kinds, createdBy: me.id };
  const { connector, token } = await createConnector(c.var.db, input, requestEvents(c));
  return c.json({ ...connectorView(connector, 0), token }, 201);
});

/** Newest first; `limit` (at most 100, 100 when not given) and `next_page` page, as Quay's listings. */
const JOBS_PAGE = 100;
const JOBS_PAGE_LIST = "superuser-connector-jobs";
const jobsQuery = z.object({
  state: z.enum(["queued", "leased", "done", "failed", "cancelled"]).optional(),
  kind: z.enum(["build", "scan", "scan_notification"]).optional(),
  ...listingPageQuery,
});

documented("GET", "/superuser/connectors/jobs", {
  operationId: "listConnectorJobs",
  summary: "Lists the connectors' jobs, newest first, by state and kind.",
  scope: "super:user",
  query: jobsQuery,
});
superuserConnectorRoutes.get("/superuser/connectors/jobs", async (c) => {
  const query = parseOrInvalid(jobsQuery, c.req.query());
  const page = await listingPage(c.env, JOBS_PAGE_LIST, query);
  const limit = page.limit ?? JOBS_PAGE;
  const rows = await listJobs(c.var.db, { state: query.state, kind: query.kind, before: page.after, limit });
  const positions = rows.map((r) => ({ id: r.job.id }));
  return c.json({ jobs: rows.map(jobView), ...(await nextPageOf(c.env, JOBS_PAGE_LIST, positions, limit)) });
});

documented("DELETE", "/superuser/connectors/:uuid", {
  operationId: "deleteConnector",
  summary: "Deletes an origin connector; the jobs it holds go back to the queue.",
  scope: "super:user",
  status: 204,
});
superuserConnectorRoutes.delete("/superuser/connectors/:uuid", requireFreshLogin(), async (c) => {
  const uuid = parseOrInvalid(z.string().max(64), c.req.param("uuid"));
  const connector = await findConnector(c.var.db, uuid);
  if (!connector) throw notFound();
  await deleteConnector(c.var.db, connector, requestEvents(c));
  return c.body(null, 204);
});
