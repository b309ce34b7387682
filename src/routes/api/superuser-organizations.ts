/**
 * /api/v1/superuser/organizations and /api/v1/superuser/takeownership: a superuser's hold on every
 * organization (Quay `endpoints/api/superuser.py`, `SuperUserOrganizationList`,
 * `SuperUserOrganizationManagement`, `SuperUserTakeOwnership`). Superusers only, super:user scope.
 */
import { Hono } from "hono";
import { z } from "zod";
import { callerWith, requireFreshLogin, requireSuperuser } from "../../middleware/api-caller";
import { requestEvents } from "../../middleware/event-scope";
import { invalid, notFound } from "../../errors/domain";
import { documented } from "./openapi";
import { listingPage, listingPageQuery, nextPageOf } from "./page-token";
import { jsonBody, parseOrInvalid } from "./validate";
import { readConfig } from "../../config";
import type { AppEnv } from "../app-env";
import { namespaceQuotaFieldsOf, withCoreUsage } from "../../quota/quota-views";
import type { User } from "../../db/schema";
import { deleteNamespace } from "../../identity/namespace-deletion";
import { listOrganizations } from "../../identity/account-listings";
import { renameOrganization, takeOwnership } from "../../identity/namespace-ownership";
import { findOrganization } from "../../identity/organizations";
import { avatar, findUser, isSuperuser, usernameSchema } from "../../identity/users";

export const superuserOrganizationRoutes = new Hono<AppEnv>();

superuserOrganizationRoutes.use("/superuser/organizations", requireSuperuser());
superuserOrganizationRoutes.use("/superuser/organizations/*", requireSuperuser());
superuserOrganizationRoutes.use("/superuser/takeownership/*", requireSuperuser());

/** Quay's `Organization.to_dict` in the superuser API, with FEATURE_QUOTA_MANAGEMENT's `quotas` and `quota_report`. */
async function organizationEntry(org: User, quotaFields: Record<string, unknown> = {}) {
  return { name: org.username, email: org.email, avatar: await avatar(org.username, org.email, "org"), ...quotaFields };
}

const PAGE_LIST = "superuser-organizations";

const listQuery = z.object(listingPageQuery);

documented("GET", "/superuser/organizations", {
  operationId: "listAllOrganizations",
  summary: "Lists every organization.",
  scope: "super:user",
  query: listQuery,
});
/** Without `limit`, every organization at once, as Quay; with it, a page and `next_page` while more remain. */
superuserOrganizationRoutes.get("/superuser/organizations", async (c) => {
  const page = await listingPage(c.env, PAGE_LIST, parseOrInvalid(listQuery, c.req.query()));
  const orgs = await listOrganizations(c.var.db, page);
  const config = readConfig(c.env);
  // Each namespace's usage from its core's database (one query per shard holding some of them).
  const quotas = await namespaceQuotaFieldsOf(c.var.db, await withCoreUsage(c.env, orgs, config), config);
  return c.json({
    organizations: await Promise.all(orgs.map((org) => organizationEntry(org, quotas.get(org.id)))),
    ...(await nextPageOf(c.env, PAGE_LIST, orgs, page.limit)),
  });
});

async function targetOrganization(c: { var: AppEnv["Variables"]; req: { param(name: string): string | undefined } }) {
  const org = await findOrganization(c.var.db, c.req.param("name") ?? "");
  if (!org) throw notFound();
  return org;
}

/** Quay's UpdateOrg: only `name`, optional. */
const updateBody = z.object({ name: usernameSchema.optional() });

documented("PUT", "/superuser/organizations/:name", {
  operationId: "changeOrganization",
  summary: "Renames an organization.",
  scope: "super:user",
  body: updateBody,
});
superuserOrganizationRoutes.put("/superuser/organizations/:name", requireFreshLogin(), async (c) => {
  const org = await targetOrganization(c);
  const body = await jsonBody(c, updateBody);
  const changed = body.name === undefined ? org : await renameOrganization(c.var.db, org, body.name, requestEvents(c));
  return c.json(await organizationEntry(changed));
});

documented("DELETE", "/superuser/organizations/:name", {
  operationId: "deleteOrganization",
  summary: "Deletes an organization.",
  scope: "super:user",
  status: 204,
});
/** Hidden at once, purged in the background (src/identity/namespace-deletion.ts), as Quay marks it. */
superuserOrganizationRoutes.delete("/superuser/organizations/:name", requireFreshLogin(), async (c) => {
  const org = await targetOrganization(c);
  await deleteNamespace(c.var.db, c.env, org, requestEvents(c));
  return c.body(null, 204);
});

documented("POST", "/superuser/takeownership/:namespace", {
  operationId: "takeOwnership",
  summary: "Makes the superuser an owner of an organization, or converts a user into one.",
  scope: "super:user",
});
superuserOrganizationRoutes.post("/superuser/takeownership/:namespace", requireFreshLogin(), async (c) => {
  const name = c.req.param("namespace");
  if (isSuperuser(readConfig(c.env), name)) throw invalid("Cannot take ownership of a superuser");
  const me = callerWith(c.var.caller, "super:user");
  await takeOwnership(c.var.db, me, await findUser(c.var.db, name), requestEvents(c));
  return c.json({ namespace: name });
});
