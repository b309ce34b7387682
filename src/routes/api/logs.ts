/**
 * Quay's action logs API (endpoints/api/logs.py, and superuser.py's `listAllLogs` /
 * `listAllAggregateLogs`): `GET …/logs` pages entries newest first, 20 a page, with Quay's
 * `{start_time, end_time, logs, next_page}`; `GET …/aggregatelogs` counts them per kind and day
 * (`{aggregated}`), over less than four weeks. Both take `starttime` / `endtime`
 * (src/events/logs-query.ts) and, for a user's and an organization's, `performer`.
 *
 * Access as Quay: a user reads their own namespace's logs (user:admin); an organization's need
 * org:admin and an admin of it (403 otherwise, whether or not it exists); a repository's need
 * repo:admin and the admin role (403), while whoever cannot pull a private repository gets 404 as
 * everywhere in Wharf; every namespace's, the superusers (super:user, a fresh login, as Quay).
 * Superusers hold no organization or repository access here, as everywhere in Wharf (Quay's
 * FEATURE_SUPERUSERS_FULL_ACCESS is not offered). Quay's AGGREGATED_LOG_COUNT_RETRIEVAL is on.
 */
import { type Context, Hono } from "hono";
import { z } from "zod";
import { clock } from "../../lib/clock";
import { notFound } from "../../errors/domain";
import type { Repository } from "../../db/schema";
import {
  aggregateLogs,
  type ArchiveSource,
  type LogFilter,
  logSources,
  logWindow,
  lookupLogs,
} from "../../events/logs-query";
import { readConfig } from "../../config";
import { findUser } from "../../identity/users";
import { aggregatedView, logsPageView } from "../../events/logs-views";
import { repositoryAccess } from "../../identity/permissions";
import { callerWith, requireFreshLogin, requireSuperuser } from "../../middleware/api-caller";
import { findRepository } from "../../registry/repositories";
import type { AppEnv } from "../app-env";
import { ApiError } from "./errors";
import { documented } from "./openapi";
import { administeredOrganization } from "./organization-access";
import { decodePositionToken, encodePositionToken } from "./page-token";
import { repositoryParam, subjectOf } from "./repository-access";
import { parseOrInvalid } from "./validate";

export const logRoutes = new Hono<AppEnv>();

const MISSPELT = /^(\/api\/v1\/(?:user|superuser|organization\/[^/]+|repository\/.+))\/aggreatelogs\/?$/;

/**
 * Quay's documentation spells `aggregatelogs` `aggreatelogs` in every curl example of "Viewing
 * aggregated logs"; those commands must run as written, so src/app.ts hands a misspelt path to the
 * route of the right one (this answers it; null for any other path). Not in Swagger: not Quay's.
 */
export function aggregateLogsAlias(path: string): string | null {
  const match = MISSPELT.exec(path);
  return match ? `${match[1]}/aggregatelogs` : null;
}

const windowQuery = {
  starttime: z.string().optional(),
  endtime: z.string().optional(),
};
const withPerformer = { ...windowQuery, performer: z.string().optional() };
const aggregateQuery = z.object(windowQuery);
const aggregateByQuery = z.object(withPerformer);
const pageQuery = z.object({ ...windowQuery, next_page: z.string().optional() });
const pageByQuery = z.object({ ...withPerformer, next_page: z.string().optional() });

/** What a listing reads: the entries of `filter`, its page tokens bound to `list`. */
interface Listing {
  filter: LogFilter;
  /** The page tokens' binding: a token of another listing is refused. */
  list: string;
  withNamespace?: boolean;
}

/** The archive the listings read past the retention, when entries are archived rather than deleted. */
function archiveOf(c: Context<AppEnv>): ArchiveSource | undefined {
  const config = readConfig(c.env);
  if (!config.ACTION_LOG_ARCHIVE) return undefined;
  return { store: c.var.store, cutoffMs: clock.now() - config.ACTION_LOG_RETENTION * 1000 };
}

async function logsPage(c: Context<AppEnv>, listing: Listing, query: z.infer<typeof pageByQuery>) {
  const window = logWindow(query.starttime, query.endtime, clock.now());
  const position = await decodePositionToken(c.env, listing.list, query.next_page);
  const filter = { ...listing.filter, ...(query.performer ? { performer: query.performer } : {}) };
  const page = await lookupLogs(await logSources(c.env, filter), window, filter, position, archiveOf(c));
  return c.json({
    ...(await logsPageView(window, page.rows, listing.withNamespace ?? false)),
    ...(page.next === undefined ? {} : { next_page: await encodePositionToken(c.env, listing.list, page.next) }),
  });
}

async function aggregate(c: Context<AppEnv>, filter: LogFilter, query: z.infer<typeof aggregateByQuery>) {
  const window = logWindow(query.starttime, query.endtime, clock.now());
  const byPerformer = query.performer ? { performer: query.performer } : {};
  const filtered = { ...filter, ...byPerformer };
  const counts = await aggregateLogs(await logSources(c.env, filtered), window, filtered, archiveOf(c));
  return c.json(aggregatedView(counts));
}

/** The signed-in user's own namespace (Quay's `require_user_admin`). */
function ownListing(c: Context<AppEnv>): Listing {
  const user = callerWith(c.var.caller, "user:admin");
  return { filter: { namespaceId: user.id }, list: `logs:user:${user.id}` };
}

async function organizationListing(c: Context<AppEnv>): Promise<Listing> {
  const { org } = await administeredOrganization(c);
  return { filter: { namespaceId: org.id }, list: `logs:org:${org.id}` };
}

/** The path's repository for its admins: 404 for whoever may not pull it, 403 for other readers. */
export async function administeredRepository(c: Context<AppEnv>): Promise<Repository> {
  const user = callerWith(c.var.caller, "repo:admin");
  const name = repositoryParam(c);
  const access = repositoryAccess(c.var.db, subjectOf(user));
  const [actions, role, repository] = await Promise.all([
    access.actions(name),
    access.role(name),
    findRepository(c.var.db, name),
  ]);
  if (!repository || !actions.includes("pull")) throw notFound();
  if (role !== "admin") throw new ApiError("insufficient_scope");
  return repository;
}

async function repositoryListing(c: Context<AppEnv>): Promise<Listing> {
  const repository = await administeredRepository(c);
  // The namespace's id picks the archive's files of the repository's namespace.
  const namespace = await findUser(c.var.db, repository.namespace);
  return {
    filter: { repositoryId: repository.id, ...(namespace ? { namespaceId: namespace.id } : {}) },
    list: `logs:repo:${repository.id}`,
  };
}

const USER = "/user/logs";
const ORG = "/organization/:orgname/logs";
const REPO = "/repository/:repository{.+}/logs";
const SUPERUSER = "/superuser/logs";

documented("GET", USER, {
  operationId: "listUserLogs",
  summary: "Lists the logs of the signed-in user's namespace.",
  scope: "user:admin",
  query: pageByQuery,
});
logRoutes.get(USER, async (c) => logsPage(c, ownListing(c), parseOrInvalid(pageByQuery, c.req.query())));

documented("GET", ORG, {
  operationId: "listOrgLogs",
  summary: "Lists the logs of an organization.",
  scope: "org:admin",
  query: pageByQuery,
});
logRoutes.get(ORG, async (c) => logsPage(c, await organizationListing(c), parseOrInvalid(pageByQuery, c.req.query())));

documented("GET", REPO, {
  operationId: "listRepoLogs",
  summary: "Lists the logs of a repository.",
  scope: "repo:admin",
  query: pageQuery,
});
logRoutes.get(REPO, async (c) => logsPage(c, await repositoryListing(c), parseOrInvalid(pageQuery, c.req.query())));

documented("GET", SUPERUSER, {
  operationId: "listAllLogs",
  summary: "Lists the logs of every namespace.",
  scope: "super:user",
  query: pageQuery,
});
logRoutes.get(SUPERUSER, requireSuperuser(), requireFreshLogin(), async (c) =>
  logsPage(c, { filter: {}, list: "logs:all", withNamespace: true }, parseOrInvalid(pageQuery, c.req.query())),
);

documented("GET", "/user/aggregatelogs", {
  operationId: "getAggregateUserLogs",
  summary: "Counts the logs of the signed-in user's namespace per kind and day.",
  scope: "user:admin",
  query: aggregateByQuery,
});
logRoutes.get("/user/aggregatelogs", async (c) =>
  aggregate(c, ownListing(c).filter, parseOrInvalid(aggregateByQuery, c.req.query())),
);

documented("GET", "/organization/:orgname/aggregatelogs", {
  operationId: "getAggregateOrgLogs",
  summary: "Counts the logs of an organization per kind and day.",
  scope: "org:admin",
  query: aggregateByQuery,
});
logRoutes.get("/organization/:orgname/aggregatelogs", async (c) =>
  aggregate(c, (await organizationListing(c)).filter, parseOrInvalid(aggregateByQuery, c.req.query())),
);

documented("GET", "/repository/:repository{.+}/aggregatelogs", {
  operationId: "getAggregateRepoLogs",
  summary: "Counts the logs of a repository per kind and day.",
  scope: "repo:admin",
  query: aggregateQuery,
});
logRoutes.get("/repository/:repository{.+}/aggregatelogs", async (c) =>
  aggregate(c, (await repositoryListing(c)).filter, parseOrInvalid(aggregateQuery, c.req.query())),
);

documented("GET", "/superuser/aggregatelogs", {
  operationId: "listAllAggregateLogs",
  summary: "Counts the logs of every namespace per kind and day.",
  scope: "super:user",
  query: aggregateQuery,
});
logRoutes.get("/superuser/aggregatelogs", requireSuperuser(), requireFreshLogin(), async (c) =>
  aggregate(c, {}, parseOrInvalid(aggregateQuery, c.req.query())),
);
