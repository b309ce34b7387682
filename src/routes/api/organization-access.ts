/**
 * Who may use an organization's endpoints (Quay's `OrganizationMemberPermission` and
 * `AdministerOrganizationPermission`). Every route under `/organization/{orgname}/…` that needs the
 * org:admin scope asks here. Outsiders get Quay's `raise Unauthorized()` (403), the same answer
 * whether or not the organization exists, so nobody can probe which do.
 */
import type { Context } from "hono";
import { callerWith } from "../../middleware/api-caller";
import { ApiError } from "./errors";
import type { User } from "../../db/schema";
import type { AppEnv } from "../app-env";
import { findOrganization, organizationRole } from "../../identity/organizations";
import type { Viewer } from "../../identity/organization-views";

export interface OrganizationStanding {
  caller: User;
  org: User;
  isAdmin: boolean;
}

/** The caller (holding org:admin), the `:orgname` organization, and whether they administer it; 403 for non-members. */
export async function organizationStanding(c: Context<AppEnv>): Promise<OrganizationStanding> {
  const caller = callerWith(c.var.caller, "org:admin");
  const org = await findOrganization(c.var.db, c.req.param("orgname")!);
  const role = org ? await organizationRole(c.var.db, caller.id, org.username) : null;
  if (!org || !role) throw new ApiError("insufficient_scope");
  return { caller, org, isAdmin: role === "admin" };
}

/** As {@link organizationStanding}, for the organization's admins only. */
export async function administeredOrganization(c: Context<AppEnv>): Promise<{ caller: User; org: User }> {
  const standing = await organizationStanding(c);
  if (!standing.isAdmin) throw new ApiError("insufficient_scope");
  return standing;
}

/** Who asks, as the organization views take it: a user with their token's scopes, or no one. */
export function viewerOf(c: Context<AppEnv>): Viewer {
  const caller = c.var.caller;
  if (caller.kind === "anonymous") return null;
  return { user: caller.user, scopes: caller.scopes };
}
