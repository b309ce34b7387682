/**
 * A superuser's hold on any namespace's quota (Quay `endpoints/api/superuser.py`,
 * `SuperUserUserQuotaList` and `SuperUserUserQuota`): `/superuser/users/{namespace}/quota[/{quota_id}]`
 * and `/superuser/organization/{namespace}/quota[/{quota_id}]`, the same resource under two paths
 * (Quay looks the namespace up as a user or an organization on either). Superusers only, with the
 * super:user scope; a fresh login for all but DELETE, as Quay. FEATURE_QUOTA_MANAGEMENT off: 404.
 */
import { Hono } from "hono";
import { and, eq, inArray, isNull } from "drizzle-orm";
import { requireFreshLogin, requireSuperuser } from "../../middleware/api-caller";
import { requestEvents } from "../../middleware/event-scope";
import { notFound } from "../../errors/domain";
import { documented } from "./openapi";
import { jsonBody } from "./validate";
import { readConfig } from "../../config";
import type { AppEnv } from "../app-env";
import { users } from "../../db/schema";
import { quotaViews, storedQuotaView } from "../../quota/quota-views";
import { createQuota, deleteQuota, findQuota, requestedSize, resizeQuota } from "../../quota/quotas";
import { changeQuotaBody, newQuotaBody, quotaManagement } from "./quota-access";

export const quotaSuperuserRoutes = new Hono<AppEnv>();

const KINDS = [
  { path: "/superuser/users/:namespace/quota", noun: "User" },
  { path: "/superuser/organization/:namespace/quota", noun: "Organization" },
] as const;

/** Quay's `get_user_or_org`: a user or organization (not a robot, not one being deleted), else 404. */
async function targetNamespace(c: { var: AppEnv["Variables"]; req: { param(name: string): string | undefined } }) {
  const found = await c.var.db
    .select()
    .from(users)
    .where(
      and(
        eq(users.username, c.req.param("namespace") ?? ""),
        inArray(users.kind, ["user", "organization"]),
        isNull(users.deletingSince),
      ),
    )
    .get();
  if (!found) throw notFound();
  return found;
}

for (const { path, noun } of KINDS) {
  const one = `${path}/:quota_id`;
  quotaSuperuserRoutes.use(path, quotaManagement(), requireSuperuser());
  quotaSuperuserRoutes.use(`${path}/*`, quotaManagement(), requireSuperuser());

  documented("GET", path, {
    operationId: `list${noun}QuotaSuperUser`,
    summary: "A namespace's quota, with its limits.",
    scope: "super:user",
  });
  quotaSuperuserRoutes.get(path, requireFreshLogin(), async (c) => {
    const namespace = await targetNamespace(c);
    return c.json(await quotaViews(c.var.db, namespace, readConfig(c.env)));
  });

  documented("POST", path, {
    operationId: `create${noun}QuotaSuperUser`,
    summary: 'Sets a namespace\'s quota: limit_bytes, or limit ("10 Gi"). One per namespace.',
    scope: "super:user",
    body: newQuotaBody,
    status: 201,
  });
  quotaSuperuserRoutes.post(path, requireFreshLogin(), async (c) => {
    const body = await jsonBody(c, newQuotaBody);
    const size = requestedSize(body, "Invalid limit format")!;
    const namespace = await targetNamespace(c);
    const exists = `Quota for '${c.req.param("namespace")}' already exists`;
    await createQuota(c.var.db, namespace, size, exists, requestEvents(c));
    return c.json("Created", 201);
  });

  documented("PUT", one, {
    operationId: `change${noun}QuotaSuperUser`,
    summary: "Resizes a namespace's quota (limit_bytes or limit).",
    scope: "super:user",
    body: changeQuotaBody,
  });
  quotaSuperuserRoutes.put(one, requireFreshLogin(), async (c) => {
    const body = await jsonBody(c, changeQuotaBody);
    const namespace = await targetNamespace(c);
    const quota = await findQuota(c.var.db, namespace, c.req.param("quota_id") ?? "");
    const size = requestedSize(body, "Invalid limit format");
    const changed = await resizeQuota(c.var.db, namespace, quota, size, requestEvents(c));
    return c.json(await storedQuotaView(c.var.db, changed, readConfig(c.env)));
  });

  documented("DELETE", one, {
    operationId: `delete${noun}QuotaSuperUser`,
    summary: "Removes a namespace's quota and its limits.",
    scope: "super:user",
    status: 204,
  });
  quotaSuperuserRoutes.delete(one, async (c) => {
    const namespace = await targetNamespace(c);
    await deleteQuota(
      c.var.db,
      namespace,
      await findQuota(c.var.db, namespace, c.req.param("quota_id") ?? ""),
      requestEvents(c),
    );
    return c.body(null, 204);
  });
}
