/**
 * `/api/v1/superuser/organizations/{name}/fairuse`: a superuser's fair-use override for one
 * organization (Wharf's own: Quay has no such budgets; no Quay path lies under
 * `/superuser/organizations/{name}/`). The override sets the namespace's request budget per minute
 * and pull-bandwidth budget per hour (src/fairuse/budgets.ts): a number replaces the deployment's
 * default (FAIR_USE_NAMESPACE_*), 0 means no budget, null the default again. Superusers only, with
 * the super:user scope; a fresh login for the changes, as Quay asks of its superuser changes.
 */
import { Hono } from "hono";
import { z } from "zod";
import { requireFreshLogin, requireSuperuser } from "../../middleware/api-caller";
import { requestEvents } from "../../middleware/event-scope";
import { invalid, notFound } from "../../errors/domain";
import { documented } from "./openapi";
import { jsonBody } from "./validate";
import { readConfig } from "../../config";
import type { AppEnv } from "../app-env";
import type { User } from "../../db/schema";
import { findOrganization } from "../../identity/organizations";
import { findOverride, removeOverride, setOverride } from "../../fairuse/override-changes";
import type { NamespaceOverride } from "../../fairuse/overrides";

export const superuserFairUseRoutes = new Hono<AppEnv>();

const PATH = "/superuser/organizations/:name/fairuse";

superuserFairUseRoutes.use(PATH, requireSuperuser());

const budget = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).nullable();
const overrideBody = z
  .strictObject({ requests_per_minute: budget.optional(), pull_bytes_per_hour: budget.optional() })
  .refine((body) => Object.keys(body).length > 0, "Give requests_per_minute or pull_bytes_per_hour");

async function targetOrganization(c: { var: AppEnv["Variables"]; req: { param(name: string): string | undefined } }) {
  const org = await findOrganization(c.var.db, c.req.param("name") ?? "");
  if (!org) throw notFound();
  return org;
}

/** The override as set (null fields: the default) and the budgets in force with it. */
function view(env: Env, org: User, override: NamespaceOverride | null) {
  const config = readConfig(env);
  const requests = override?.requestsPerMinute ?? null;
  const bytes = override?.pullBytesPerHour ?? null;
  return {
    name: org.username,
    // Whether an override row exists at all (one with both budgets null still can be removed).
    overridden: override !== null,
    requests_per_minute: requests,
    pull_bytes_per_hour: bytes,
    effective: {
      requests_per_minute: requests ?? config.FAIR_USE_NAMESPACE_REQUESTS_PER_MINUTE,
      pull_bytes_per_hour: bytes ?? config.FAIR_USE_NAMESPACE_PULL_BYTES_PER_HOUR,
    },
  };
}

documented("GET", PATH, {
  operationId: "getOrganizationFairUse",
  summary: "An organization's fair-use override and the budgets in force (0: none).",
  scope: "super:user",
});
superuserFairUseRoutes.get(PATH, async (c) => {
  const org = await targetOrganization(c);
  return c.json(view(c.env, org, await findOverride(c.var.db, org)));
});

documented("PUT", PATH, {
  operationId: "setOrganizationFairUse",
  summary: "Sets an organization's request budget per minute and pull bytes per hour (0: none, null: the default).",
  scope: "super:user",
  body: overrideBody,
});
superuserFairUseRoutes.put(PATH, requireFreshLogin(), async (c) => {
  const body = await jsonBody(c, overrideBody);
  const org = await targetOrganization(c);
  if (body.requests_per_minute === undefined && body.pull_bytes_per_hour === undefined)
    throw invalid("Give requests_per_minute or pull_bytes_per_hour");
  const next = await setOverride(
    c.var.db,
    org,
    { requestsPerMinute: body.requests_per_minute, pullBytesPerHour: body.pull_bytes_per_hour },
    requestEvents(c),
  );
  return c.json(view(c.env, org, next));
});

documented("DELETE", PATH, {
  operationId: "deleteOrganizationFairUse",
  summary: "Removes an organization's fair-use override: the defaults apply again.",
  scope: "super:user",
  status: 204,
});
superuserFairUseRoutes.delete(PATH, requireFreshLogin(), async (c) => {
  const org = await targetOrganization(c);
  if (!(await removeOverride(c.var.db, org, requestEvents(c)))) throw notFound();
  return c.body(null, 204);
});
