/**
 * One member of an organization (Quay `endpoints/api/organization.py` `OrganizationMember`):
 * `GET|DELETE /api/v1/organization/{orgname}/members/{membername}`, for the organization's admins
 * with org:admin (Quay's AdministerOrganizationPermission); anyone else gets 403, whether or not
 * the organization or the member exists. The list of members is in ./organization.ts.
 */
import { Hono } from "hono";
import { requestEvents } from "../../middleware/event-scope";
import { documented } from "./openapi";
import type { AppEnv } from "../app-env";
import { administeredOrganization } from "./organization-access";
import { organizationMemberView, removeOrganizationMember } from "../../identity/organization-member";

export const memberRoutes = new Hono<AppEnv>();

const MEMBER = "/organization/:orgname/members/:membername";

documented("GET", MEMBER, {
  operationId: "getOrganizationMember",
  summary: "A member of the organization (a person in its teams, or its robot): teams and repositories.",
  scope: "org:admin",
});
memberRoutes.get(MEMBER, async (c) => {
  const { org } = await administeredOrganization(c);
  return c.json(await organizationMemberView(c.var.db, org, c.req.param("membername")));
});

documented("DELETE", MEMBER, {
  operationId: "removeOrganizationMember",
  summary: "Removes a person from every team of the organization and every permission on its repositories.",
  scope: "org:admin",
  status: 204,
});
memberRoutes.delete(MEMBER, async (c) => {
  const { org } = await administeredOrganization(c);
  await removeOrganizationMember(c.var.db, org, c.req.param("membername"), requestEvents(c));
  return c.body(null, 204);
});
