/**
 * What the quota routes share (Quay `endpoints/api/namespacequota.py` and the quota resources of
 * `endpoints/api/superuser.py`): the feature switch, who may read an organization's quota, and
 * Quay's request bodies with their `oneOf` rules.
 */
import type { Context, MiddlewareHandler } from "hono";
import { z } from "zod";
import { notFound } from "../../errors/domain";
import { readConfig } from "../../config";
import type { User } from "../../db/schema";
import type { AppEnv } from "../app-env";
import { ApiError } from "./errors";
import { findOrganization, organizationRole, roleForScopes } from "../../identity/organizations";
import { grants } from "../../identity/scopes";
import { isSuperuser } from "../../identity/users";
import { LIMIT_PATTERN } from "../../quota/byte-sizes";

/** Quay registers the quota resources only with FEATURE_QUOTA_MANAGEMENT (`@show_if`): 404 to everyone without. */
export function quotaManagement(): MiddlewareHandler<AppEnv> {
  return async function checkFeature(c, next) {
    if (!readConfig(c.env).FEATURE_QUOTA_MANAGEMENT) throw notFound();
    await next();
  };
}

/** Quay's `SuperUserPermission().can()`: a superuser whose credential carries super:user. */
function superuserCaller(c: Context<AppEnv>): boolean {
  const caller = c.var.caller;
  return (
    caller.kind === "user" &&
    grants(caller.scopes, "super:user") &&
    isSuperuser(readConfig(c.env), caller.user.username)
  );
}

/**
 * The `:orgname` organization, for a caller who may read its quota: a member (the token's scopes
 * capping the role, as everywhere), or, where Quay allows it (`superusers`: the quota reads, not the
 * limit reads, which Quay opens to superusers only with FEATURE_SUPERUSERS_FULL_ACCESS), a
 * superuser. Anyone else: Quay's `Unauthorized()` (401 for no one, 403 otherwise), before the
 * organization is looked up, so outsiders cannot probe which exist.
 */
export async function quotaReadableOrganization(c: Context<AppEnv>, superusers: boolean): Promise<User> {
  const caller = c.var.caller;
  if (caller.kind === "anonymous") throw new ApiError("invalid_token", "Requires authentication");
  const org = await findOrganization(c.var.db, c.req.param("orgname") ?? "");
  const role = org
    ? roleForScopes(await organizationRole(c.var.db, caller.user.id, org.username), caller.scopes)
    : null;
  if (role === null && !(superusers && superuserCaller(c))) throw new ApiError("insufficient_scope", "Unauthorized");
  if (!org) throw notFound();
  return org;
}

const limitBytes = z.number().int();
const limitText = z.string().regex(LIMIT_PATTERN, "Invalid limit format");
const inBytes = z.looseObject({ limit_bytes: limitBytes });
const humanReadable = z.looseObject({ limit: limitText });

/**
 * Quay's NewOrgQuota / NewNamespaceQuota: `oneOf` `{limit_bytes}` (an integer) or `{limit}` ("10 Gi",
 * Quay's pattern), other members ignored; a body that is both, or neither, is refused.
 */
export const newQuotaBody = z
  .union([inBytes, humanReadable])
  .refine((body) => !(inBytes.safeParse(body).success && humanReadable.safeParse(body).success), {
    message: "Give limit_bytes or limit, not both",
  });

/**
 * Quay's UpdateOrgQuota / UpdateNamespaceQuota: exactly `{limit_bytes}`, exactly `{limit}`, or `{}`
 * (no change); any other member is refused.
 */
export const changeQuotaBody = z.union([
  z.strictObject({ limit_bytes: limitBytes }),
  z.strictObject({ limit: limitText }),
  z.strictObject({}),
]);

/** Quay's NewOrgQuotaLimit: `type` ("Warning" or "Reject", any case) and `threshold_percent` (1 to 100). */
export const newLimitBody = z.looseObject({ type: z.string(), threshold_percent: z.number().int() });

/** Quay's UpdateOrgQuotaLimit: either, both or neither. */
export const changeLimitBody = z.looseObject({
  type: z.string().optional(),
  threshold_percent: z.number().int().optional(),
});
