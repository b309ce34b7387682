/**
 * An organization's storage quota and its limits, and the signed-in user's own (Quay
 * `endpoints/api/namespacequota.py`): `/organization/{orgname}/quota[/{quota_id}[/limit[/{limit_id}]]]`
 * and the read-only `/user/quota…`. FEATURE_QUOTA_MANAGEMENT off: every route 404.
 *
 * Access as Quay: members read the quota and its limits (superusers read the quota too); creating,
 * changing and deleting a quota or a limit need the super:user scope and a superuser. The answers
 * are Quay's: "Created" (201) for a new quota or limit, `quota_view` for a quota and after a change
 * (of a limit too), 204 for a deletion. The user's routes need user:admin.
 */
import { type Context, Hono } from "hono";
import { callerWith, requireSuperuser } from "../../middleware/api-caller";
import { requestEvents } from "../../middleware/event-scope";
import { notFound } from "../../errors/domain";
import { documented } from "./openapi";
import { jsonBody } from "./validate";
import { readConfig } from "../../config";
import type { AppEnv } from "../app-env";
import { findOrganization } from "../../identity/organizations";
import { changeLimit, createLimit, deleteLimit, findLimit, listLimits } from "../../quota/quota-limits";
import { limitView, quotaViews, quotaViewsOrDefault, storedQuotaView } from "../../quota/quota-views";
import { createQuota, deleteQuota, findQuota, requestedSize, resizeQuota } from "../../quota/quotas";
import {
  changeLimitBody,
  changeQuotaBody,
  newLimitBody,
  newQuotaBody,
  quotaManagement,
  quotaReadableOrganization,
} from "./quota-access";

export const quotaRoutes = new Hono<AppEnv>();

const QUOTAS = "/organization/:orgname/quota";
const QUOTA = `${QUOTAS}/:quota_id`;
const LIMITS = `${QUOTA}/limit`;
const LIMIT = `${LIMITS}/:limit_id`;
const USER_QUOTAS = "/user/quota";
const USER_QUOTA = `${USER_QUOTAS}/:quota_id`;
const USER_LIMITS = `${USER_QUOTA}/limit`;
const USER_LIMIT = `${USER_LIMITS}/:limit_id`;

for (const path of [QUOTAS, `${QUOTAS}/*`, USER_QUOTAS, `${USER_QUOTAS}/*`]) quotaRoutes.use(path, quotaManagement());

/** Quay's words when `limit` passes the pattern yet bitmath cannot read it. */
const BAD_LIMIT = "Invalid limit format, use a number followed by a unit (e.g. 1GiB)";

/** The organization a superuser changes: 404 when there is none (after the superuser check). */
async function targetOrganization(db: AppEnv["Variables"]["db"], name: string) {
  const org = await findOrganization(db, name);
  if (!org) throw notFound();
  return org;
}

/** The `:quota_id` quota of the organization a superuser changes, with the organization. */
async function targetQuota(c: Context<AppEnv>) {
  const org = await targetOrganization(c.var.db, c.req.param("orgname")!);
  return { org, quota: await findQuota(c.var.db, org, c.req.param("quota_id")!) };
}

/** The `:quota_id` quota of an organization the caller may read (see quotaReadableOrganization). */
async function readableQuota(c: Context<AppEnv>, superusers: boolean) {
  const org = await quotaReadableOrganization(c, superusers);
  return findQuota(c.var.db, org, c.req.param("quota_id")!);
}

/** The `:quota_id` quota of the signed-in user (user:admin). */
function ownQuota(c: Context<AppEnv>) {
  return findQuota(c.var.db, callerWith(c.var.caller, "user:admin"), c.req.param("quota_id")!);
}

documented("GET", QUOTAS, {
  operationId: "listOrganizationQuota",
  summary: "The organization's quota (or the system default), with its limits.",
  scope: null,
});
quotaRoutes.get(QUOTAS, async (c) => {
  const org = await quotaReadableOrganization(c, true);
  return c.json(await quotaViewsOrDefault(c.var.db, org, readConfig(c.env)));
});

documented("POST", QUOTAS, {
  operationId: "createOrganizationQuota",
  summary: 'Sets the organization\'s quota: limit_bytes, or limit ("10 Gi"). One per organization.',
  scope: "super:user",
  body: newQuotaBody,
  status: 201,
});
quotaRoutes.post(QUOTAS, requireSuperuser(), async (c) => {
  const body = await jsonBody(c, newQuotaBody);
  const size = requestedSize(body, BAD_LIMIT)!;
  const org = await targetOrganization(c.var.db, c.req.param("orgname"));
  const exists = `Organization quota for '${org.username}' already exists`;
  await createQuota(c.var.db, org, size, exists, requestEvents(c));
  return c.json("Created", 201);
});

documented("GET", QUOTA, {
  operationId: "getOrganizationQuota",
  summary: "One quota of the organization.",
  scope: null,
});
quotaRoutes.get(QUOTA, async (c) => {
  return c.json(await storedQuotaView(c.var.db, await readableQuota(c, true), readConfig(c.env)));
});

documented("PUT", QUOTA, {
  operationId: "changeOrganizationQuota",
  summary: "Resizes the organization's quota (limit_bytes or limit).",
  scope: "super:user",
  body: changeQuotaBody,
});
quotaRoutes.put(QUOTA, requireSuperuser(), async (c) => {
  const body = await jsonBody(c, changeQuotaBody);
  const { org, quota } = await targetQuota(c);
  const changed = await resizeQuota(c.var.db, org, quota, requestedSize(body, BAD_LIMIT), requestEvents(c));
  return c.json(await storedQuotaView(c.var.db, changed, readConfig(c.env)));
});

documented("DELETE", QUOTA, {
  operationId: "deleteOrganizationQuota",
  summary: "Removes the organization's quota and its limits.",
  scope: "super:user",
  status: 204,
});
quotaRoutes.delete(QUOTA, requireSuperuser(), async (c) => {
  const { org, quota } = await targetQuota(c);
  await deleteQuota(c.var.db, org, quota, requestEvents(c));
  return c.body(null, 204);
});

documented("GET", LIMITS, { operationId: "listOrganizationQuotaLimit", summary: "The quota's limits.", scope: null });
quotaRoutes.get(LIMITS, async (c) => {
  return c.json((await listLimits(c.var.db, await readableQuota(c, false))).map(limitView));
});

documented("POST", LIMITS, {
  operationId: "createOrganizationQuotaLimit",
  summary: "Adds a Warning or Reject limit (threshold_percent, 1 to 100; one Reject).",
  scope: "super:user",
  body: newLimitBody,
  status: 201,
});
quotaRoutes.post(LIMITS, requireSuperuser(), async (c) => {
  const body = await jsonBody(c, newLimitBody);
  const { org, quota } = await targetQuota(c);
  await createLimit(c.var.db, org, quota, body, requestEvents(c));
  return c.json("Created", 201);
});

documented("GET", LIMIT, { operationId: "getOrganizationQuotaLimit", summary: "One limit of the quota.", scope: null });
quotaRoutes.get(LIMIT, async (c) => {
  const quota = await readableQuota(c, false);
  return c.json(limitView(await findLimit(c.var.db, quota, c.req.param("limit_id"))));
});

documented("PUT", LIMIT, {
  operationId: "changeOrganizationQuotaLimit",
  summary: "Changes a limit's type or threshold; answers the whole quota.",
  scope: "super:user",
  body: changeLimitBody,
});
quotaRoutes.put(LIMIT, requireSuperuser(), async (c) => {
  const body = await jsonBody(c, changeLimitBody);
  const { org, quota } = await targetQuota(c);
  const limit = await findLimit(c.var.db, quota, c.req.param("limit_id"));
  await changeLimit(c.var.db, org, quota, limit, body, requestEvents(c));
  return c.json(await storedQuotaView(c.var.db, quota, readConfig(c.env)));
});

documented("DELETE", LIMIT, {
  operationId: "deleteOrganizationQuotaLimit",
  summary: "Removes a limit.",
  scope: "super:user",
  status: 204,
});
quotaRoutes.delete(LIMIT, requireSuperuser(), async (c) => {
  const { org, quota } = await targetQuota(c);
  await deleteLimit(c.var.db, org, quota, await findLimit(c.var.db, quota, c.req.param("limit_id")), requestEvents(c));
  return c.body(null, 204);
});

documented("GET", USER_QUOTAS, {
  operationId: "listUserQuota",
  summary: "The signed-in user's quota, with its limits.",
  scope: "user:admin",
});
/** Quay's `listUserQuota` shows the user's own quota only: never the system default. */
quotaRoutes.get(USER_QUOTAS, async (c) => {
  const user = callerWith(c.var.caller, "user:admin");
  return c.json(await quotaViews(c.var.db, user, readConfig(c.env)));
});

documented("GET", USER_QUOTA, {
  operationId: "getUserQuota",
  summary: "The signed-in user's quota.",
  scope: "user:admin",
});
quotaRoutes.get(USER_QUOTA, async (c) => {
  return c.json(await storedQuotaView(c.var.db, await ownQuota(c), readConfig(c.env)));
});

documented("GET", USER_LIMITS, {
  operationId: "listUserQuotaLimit",
  summary: "The limits of the signed-in user's quota.",
  scope: "user:admin",
});
quotaRoutes.get(USER_LIMITS, async (c) => {
  return c.json((await listLimits(c.var.db, await ownQuota(c))).map(limitView));
});

documented("GET", USER_LIMIT, {
  operationId: "getUserQuotaLimit",
  summary: "One limit of the signed-in user's quota.",
  scope: "user:admin",
});
quotaRoutes.get(USER_LIMIT, async (c) => {
  const quota = await ownQuota(c);
  return c.json(limitView(await findLimit(c.var.db, quota, c.req.param("limit_id"))));
});
