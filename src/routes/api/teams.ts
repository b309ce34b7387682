/**
 * An organization's teams (Quay `endpoints/api/team.py`): `PUT|DELETE
 * /api/v1/organization/{orgname}/team/{teamname}`, its members (`GET …/members`, `PUT|DELETE
 * …/members/{membername}`), email invitations (`PUT|DELETE …/invite/{email}`), its repository
 * permissions (`GET …/permissions`), and the invitee's side (`PUT|DELETE /api/v1/teaminvite/{code}`).
 * Everything needs an org:admin token and an admin of the organization, who alone learns whether a
 * team exists (others get Quay's 403 first); listing members is also open to the team's own members.
 */
import { Hono, type Context } from "hono";
import { z } from "zod";
import { callerWith } from "../../middleware/api-caller";
import { requestEvents } from "../../middleware/event-scope";
import { documented } from "./openapi";
import { ApiError } from "./errors";
import { invalid, notFound } from "../../errors/domain";
import { jsonBody, parseOrInvalid } from "./validate";
import type { Team } from "../../db/schema";
import type { AppEnv } from "../app-env";
import { organizationStanding, type OrganizationStanding } from "./organization-access";
import {
  acceptInvite,
  declineInvite,
  deleteEmailInvite,
  inviteEmail,
  inviteView,
  listTeamInvites,
} from "../../identity/team-invites";
import {
  deleteTeam,
  findMemberCandidate,
  findTeam,
  isTeamMember,
  listTeamMembers,
  removeTeamMember,
  saveTeam,
  TEAM_ROLES,
} from "../../identity/teams";
import { memberView, teamPermissionsView, teamView } from "../../identity/team-views";
import { emailSchema } from "../../identity/users";
import { mailerFor } from "../../mail/quay-mails";
import { readConfig } from "../../config";
import { addOrInviteTeamMember } from "../../identity/team-member-invites";

export const teamRoutes = new Hono<AppEnv>();

const TEAM = "/organization/:orgname/team/:teamname";

/** Quay's `AdministerOrganizationPermission` check, then the team (404 for an admin when missing). */
async function administeredTeam(c: Context<AppEnv>): Promise<OrganizationStanding & { team: Team }> {
  const s = await organizationStanding(c);
  if (!s.isAdmin) throw new ApiError("insufficient_scope");
  const team = await findTeam(c.var.db, s.org, c.req.param("teamname")!);
  if (!team) throw notFound();
  return { ...s, team };
}

const teamBody = z.object({ role: z.enum(TEAM_ROLES), description: z.string().max(4096).optional() });

documented("PUT", TEAM, {
  operationId: "updateOrganizationTeam",
  summary: "Creates a team or changes its role and description.",
  scope: "org:admin",
  body: teamBody,
});
teamRoutes.put(TEAM, async (c) => {
  const s = await organizationStanding(c);
  if (!s.isAdmin) throw new ApiError("insufficient_scope");
  const body = await jsonBody(c, teamBody);
  const { team, created } = await saveTeam(c.var.db, s.org, s.caller, c.req.param("teamname"), body, requestEvents(c));
  return c.json(await teamView(team, created));
});

documented("DELETE", TEAM, {
  operationId: "deleteOrganizationTeam",
  summary: "Deletes a team.",
  scope: "org:admin",
  status: 204,
});
teamRoutes.delete(TEAM, async (c) => {
  const { org, team, caller } = await administeredTeam(c);
  await deleteTeam(c.var.db, org, team, caller, requestEvents(c));
  return c.body(null, 204);
});

const membersQuery = z.object({
  includePending: z
    .enum(["true", "false", "True", "False", "1", "0"])
    .transform((v) => v === "true" || v === "True" || v === "1")
    .optional(),
});

/** Quay's ViewTeamPermission: the organization's admins and the team's own members. */
documented("GET", `${TEAM}/members`, {
  operationId: "getOrganizationTeamMembers",
  summary: "A team's members (and pending invitations).",
  scope: "org:admin",
  query: membersQuery,
});
teamRoutes.get(`${TEAM}/members`, async (c) => {
  const s = await organizationStanding(c);
  const team = await findTeam(c.var.db, s.org, c.req.param("teamname"));
  if (!s.isAdmin && !(team && (await isTeamMember(c.var.db, team, s.caller)))) throw new ApiError("insufficient_scope");
  if (!team) throw notFound();
  const { includePending } = parseOrInvalid(membersQuery, c.req.query());
  const members = await Promise.all((await listTeamMembers(c.var.db, team)).map((u) => memberView(u, false)));
  // Pending invitations only for those who could cancel them (Quay: `includePending and can_edit`).
  const invites = includePending && s.isAdmin ? await listTeamInvites(c.var.db, team) : [];
  const pending = await Promise.all(invites.map((i) => inviteView(i.invite, i.user)));
  return c.json({ name: team.name, members: [...members, ...pending], can_edit: s.isAdmin });
});

documented("PUT", `${TEAM}/members/:membername`, {
  operationId: "updateOrganizationTeamMember",
  summary: "Adds a user or one of the organization's robots to a team.",
  scope: "org:admin",
});
/**
 * Quay's answer: the member's view, `invited: true` when a person outside the organization was
 * invited instead (FEATURE_MAILING and REQUIRE_TEAM_INVITE, src/identity/team-member-invites.ts).
 */
teamRoutes.put(`${TEAM}/members/:membername`, async (c) => {
  const { org, team, caller } = await administeredTeam(c);
  const member = await findMemberCandidate(c.var.db, c.req.param("membername"));
  if (!member) throw invalid("Unknown user");
  const mailer = mailerFor(c.env, c.var.publicOrigin.origin);
  const invite = readConfig(c.env).REQUIRE_TEAM_INVITE ? mailer : null;
  const added = await addOrInviteTeamMember(c.var.db, org, team, caller, member, requestEvents(c), invite);
  return c.json(await memberView(member, added === "invite"));
});

documented("DELETE", `${TEAM}/members/:membername`, {
  operationId: "deleteOrganizationTeamMember",
  summary: "Removes a member from a team, or cancels their invitation.",
  scope: "org:admin",
  status: 204,
});
teamRoutes.delete(`${TEAM}/members/:membername`, async (c) => {
  const { org, team, caller } = await administeredTeam(c);
  const member = await findMemberCandidate(c.var.db, c.req.param("membername"));
  if (!member) throw notFound();
  await removeTeamMember(c.var.db, org, team, member, caller, requestEvents(c));
  return c.body(null, 204);
});

/** The invitation code goes nowhere but the invitee's mail (FEATURE_MAILING); never to a log. */
documented("PUT", `${TEAM}/invite/:email`, {
  operationId: "inviteTeamMemberEmail",
  summary: "Invites an email address to a team.",
  scope: "org:admin",
});
teamRoutes.put(`${TEAM}/invite/:email`, async (c) => {
  const { org, team, caller } = await administeredTeam(c);
  const email = parseOrInvalid(emailSchema, c.req.param("email"));
  const mailer = mailerFor(c.env, c.var.publicOrigin.origin);
  const { invite } = await inviteEmail(c.var.db, org, team, caller, email, requestEvents(c), mailer);
  return c.json(await inviteView(invite, null));
});

documented("DELETE", `${TEAM}/invite/:email`, {
  operationId: "deleteTeamMemberEmailInvite",
  summary: "Cancels an email invitation.",
  scope: "org:admin",
  status: 204,
});
teamRoutes.delete(`${TEAM}/invite/:email`, async (c) => {
  const { org, team } = await administeredTeam(c);
  const email = emailSchema.safeParse(c.req.param("email"));
  if (!email.success || !(await deleteEmailInvite(c.var.db, org, team, email.data, requestEvents(c)))) throw notFound();
  return c.body(null, 204);
});

documented("GET", `${TEAM}/permissions`, {
  operationId: "getOrganizationTeamPermissions",
  summary: "A team's repository permissions.",
  scope: "org:admin",
});
teamRoutes.get(`${TEAM}/permissions`, async (c) => {
  const { team } = await administeredTeam(c);
  return c.json(await teamPermissionsView(c.var.db, team));
});

/** Quay's `require_user_admin`: the invitee, signed in, with a user:admin token. */
documented("PUT", "/teaminvite/:code", {
  operationId: "acceptOrganizationTeamInvite",
  summary: "Accepts an invitation to join a team.",
  scope: "user:admin",
});
teamRoutes.put("/teaminvite/:code", async (c) => {
  const user = callerWith(c.var.caller, "user:admin");
  return c.json(await acceptInvite(c.var.db, c.req.param("code"), user, requestEvents(c)));
});

documented("DELETE", "/teaminvite/:code", {
  operationId: "declineOrganizationTeamInvite",
  summary: "Declines an invitation to join a team.",
  scope: "user:admin",
  status: 204,
});
teamRoutes.delete("/teaminvite/:code", async (c) => {
  const user = callerWith(c.var.caller, "user:admin");
  await declineInvite(c.var.db, c.req.param("code"), user, requestEvents(c));
  return c.body(null, 204);
});
