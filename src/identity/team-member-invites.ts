/**
 * Adding a person to a team with FEATURE_MAILING and Quay's REQUIRE_TEAM_INVITE (Quay's
 * `add_or_invite_to_team`): someone already in a team of the organization, or one of its robots,
 * is added directly; anyone else is invited by an invitation naming their account, and mailed its
 * code (Quay's `send_org_invite_email` to the account's address). They join by accepting it
 * (`PUT /api/v1/teaminvite/{code}`, ./team-invites.ts). A person without an address is added
 * directly: nothing could reach them. Without mailing everyone is added directly (./teams.ts).
 */
import { and, eq } from "drizzle-orm";
import type { Db } from "../db/client";
import { teamInvites, teamMembers, teams, type Team, type User } from "../db/schema";
import type { EventScope } from "../events/outbox";
import { type Mailer, mailTeamInvite } from "../mail/quay-mails";
import { accountRef, commitWithEvents, namespaceEvent, teamRef } from "./account-events";
import { newInviteCode } from "./team-invites";
import { addTeamMember } from "./teams";

/** Whether `member` belongs to some team of `org`. */
async function inOrganization(db: Db, org: User, member: User): Promise<boolean> {
  const row = await db
    .select({ teamId: teamMembers.teamId })
    .from(teamMembers)
    .innerJoin(teams, eq(teams.id, teamMembers.teamId))
    .where(and(eq(teams.organizationId, org.id), eq(teamMembers.userId, member.id)))
    .get();
  return row !== undefined;
}

/**
 * Adds `member` to `team`, or, when `invite` holds (FEATURE_MAILING and REQUIRE_TEAM_INVITE) and
 * they are a person outside the organization with an address, invites them (inviting again renews
 * the code). "invite" when invited, "member" when added.
 */
export async function addOrInviteTeamMember(
  db: Db,
  org: User,
  team: Team,
  inviter: User,
  member: User,
  events: EventScope,
  invite: Mailer | null,
): Promise<"invite" | "member"> {
  const email = member.email;
  if (!invite || member.kind !== "user" || !email || (await inOrganization(db, org, member))) {
    await addTeamMember(db, org, team, member, events);
    return "member";
  }
  const { code, codeHash } = await newInviteCode();
  const upsert = db
    .insert(teamInvites)
    .values({ teamId: team.id, userId: member.id, inviterId: inviter.id, codeHash })
    .onConflictDoUpdate({ target: [teamInvites.teamId, teamInvites.userId], set: { codeHash, inviterId: inviter.id } });
  const event = namespaceEvent("org_invite_team_member", org.username, events.origin, {
    team: teamRef(team),
    email,
    member: accountRef(member),
  });
  await commitWithEvents(db, events, [upsert], [event]);
  await mailTeamInvite(invite, { to: email, inviter: inviter.username, org: org.username, team: team.name, code });
  return "invite";
}
