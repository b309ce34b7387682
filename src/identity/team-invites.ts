/**
 * Invitations to join a team (Quay `TeamMemberInvite`, `data/model/team.py`): an organization
 * admin invites an email address (`PUT …/team/{teamname}/invite/{email}`); whoever holds the code
 * and signs in with that (verified) email accepts (`PUT /api/v1/teaminvite/{code}`) or declines
 * (`DELETE`). The code goes only into the invitation mail (with FEATURE_MAILING, src/mail/), as
 * Quay's `send_org_invite_email`: only its SHA-256 is stored, and it is never logged.
 */
import { and, eq, inArray, isNull, or, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { teamInvites, teamMembers, teams, users, type Team, type TeamInvite, type User } from "../db/schema";
import { sha256Hex } from "../lib/encoding";
import { randomString } from "./passwords";
import { modelError } from "../errors/domain";
import type { EventScope } from "../events/outbox";
import { type Mailer, mailTeamInvite } from "../mail/quay-mails";
import { accountRef, commitWithEvents, conditionalEvent, namespaceEvent, teamRef, written } from "./account-events";
import { memberView } from "./team-views";
import { avatar } from "./users";

const CODE_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const CODE_LENGTH = 64;

/** A new invitation code and the SHA-256 that is all Wharf keeps of it. */
export async function newInviteCode(): Promise<{ code: string; codeHash: string }> {
  const code = randomString(CODE_ALPHABET, CODE_LENGTH);
  return { code, codeHash: await sha256Hex(code) };
}

/**
 * Invites `email` to `team`, or renews the invitation already pending for it (a new code; the old
 * one stops working), and mails the code to `email` once the invitation is committed (`mailer`
 * null, with FEATURE_MAILING off, mails nothing). Returns the invitation and its code.
 */
export async function inviteEmail(
  db: Db,
  org: User,
  team: Team,
  inviter: User,
  email: string,
  events: EventScope,
  mailer: Mailer | null,
): Promise<{ invite: TeamInvite; code: string }> {
  const { code, codeHash } = await newInviteCode();
  const upsert = db
    .insert(teamInvites)
    .values({ teamId: team.id, email, inviterId: inviter.id, codeHash })
    .onConflictDoUpdate({
      target: [teamInvites.teamId, teamInvites.email],
      set: { codeHash, inviterId: inviter.id, createdAt: sql`(cast(unixepoch('subsecond') * 1000 as integer))` },
    })
    .returning();
  // A renewed invitation is invited again (a new code): the same event.
  const event = namespaceEvent("org_invite_team_member", org.username, events.origin, { team: teamRef(team), email });
  const [invites] = (await commitWithEvents(db, events, [upsert], [event])) as TeamInvite[][];
  if (mailer)
    await mailTeamInvite(mailer, { to: email, inviter: inviter.username, org: org.username, team: team.name, code });
  return { invite: invites![0]!, code };
}

/** Cancels the pending invitation of `email` to `team`; false when there was none (Quay: 404). */
export async function deleteEmailInvite(
  db: Db,
  org: User,
  team: Team,
  email: string,
  events: EventScope,
): Promise<boolean> {
  const pending = and(eq(teamInvites.teamId, team.id), eq(teamInvites.email, email));
  const event = namespaceEvent("org_delete_team_member_invite", org.username, events.origin, {
    team: teamRef(team),
    email,
    member: null,
  });
  const [row] = await db.batch([
    conditionalEvent(db, event, sql`exists (select 1 from ${teamInvites} where ${pending})`),
    db.delete(teamInvites).where(pending),
  ]);
  if (!written(row)) return false;
  events.publish([event]);
  return true;
}

/** The pending invitations of `team` with the account each names, if any. */
export async function listTeamInvites(db: Db, team: Team): Promise<Array<{ invite: TeamInvite; user: User | null }>> {
  return db
    .select({ invite: teamInvites, user: users })
    .from(teamInvites)
    .leftJoin(users, eq(users.id, teamInvites.userId))
    .where(eq(teamInvites.teamId, team.id))
    .orderBy(teamInvites.id)
    .all();
}

/** Quay's `invite_view`: a named account's member view, else the email's. */
export async function inviteView(invite: TeamInvite, user: User | null) {
  if (user) return memberView(user, true);
  return {
    email: invite.email,
    kind: "invite",
    avatar: await avatar(invite.email ?? "", invite.email, "user"),
    invited: true,
  };
}

/** Whether an invitation is addressed to `user`: by account, or by the (verified) email they hold. */
function addressedTo(invite: TeamInvite, user: User): boolean {
  if (invite.userId !== null) return invite.userId === user.id;
  return user.verified && user.email !== null && invite.email === user.email;
}

const invalidCode = () => modelError("Invalid confirmation code.");

async function findByCode(db: Db, code: string) {
  if (code.length === 0 || code.length > 256) return undefined;
  return db
    .select({ invite: teamInvites, team: teams, org: users })
    .from(teamInvites)
    .innerJoin(teams, eq(teams.id, teamInvites.teamId))
    .innerJoin(users, and(eq(users.id, teams.organizationId), isNull(users.deletingSince)))
    .where(eq(teamInvites.codeHash, await sha256Hex(code)))
    .get();
}

/**
 * The address an email invitation was mailed to, for Quay's `invite_code` at sign-up
 * (`urn:teaminvite:<code>`, its `parse_single_urn`), or null for anything else.
 */
export async function invitedAddress(db: Db, inviteCode: string): Promise<string | null> {
  const code = /^urn:teaminvite:([A-Za-z0-9]+)$/.exec(inviteCode)?.[1];
  if (!code) return null;
  const found = await findByCode(db, code);
  return found && found.invite.userId === null ? found.invite.email : null;
}

/**
 * Quay's `confirm_team_invite`: the invitation must be addressed to `user` (Quay's messages name
 * the intended user or email), and accepting it accepts every invitation of theirs to the same
 * organization, in one batch. Answers Quay's `{"org": <name>, "team": <name>}`.
 */
export async function acceptInvite(
  db: Db,
  code: string,
  user: User,
  events: EventScope,
): Promise<{ org: string; team: string }> {
  const found = await findByCode(db, code);
  if (!found) throw invalidCode();
  if (!addressedTo(found.invite, user)) {
    if (found.invite.userId !== null) {
      const named = await db
        .select({ username: users.username })
        .from(users)
        .where(eq(users.id, found.invite.userId))
        .get();
      throw modelError(
        `This invite is intended for user "${named?.username}". Please login to that account and try again.`,
      );
    }
    throw modelError(
      `This invite is intended for email "${found.invite.email}". Please login to that account and try again.`,
    );
  }
  const byEmail = user.verified && user.email !== null ? eq(teamInvites.email, user.email) : sql`0`;
  const all = await db
    .select({ id: teamInvites.id, teamId: teamInvites.teamId, teamName: teams.name })
    .from(teamInvites)
    .innerJoin(teams, eq(teams.id, teamInvites.teamId))
    .where(and(eq(teams.organizationId, found.org.id), or(eq(teamInvites.userId, user.id), byEmail)))
    .all();
  // One event per invitation accepted, each written only if its invitation is still pending when
  // the batch runs (a concurrent acceptance or cancellation took it otherwise).
  const accepted = all.map((invite) => ({
    invite,
    event: namespaceEvent("org_team_member_invite_accepted", found.org.username, events.origin, {
      team: { name: invite.teamName, id: invite.teamId },
      member: accountRef(user),
    }),
  }));
  const results = await db.batch([
    db
      .insert(teamMembers)
      .values(all.map((i) => ({ teamId: i.teamId, userId: user.id })))
      .onConflictDoNothing(),
    ...accepted.map(({ invite, event }) =>
      conditionalEvent(db, event, sql`exists (select 1 from ${teamInvites} where id = ${invite.id})`),
    ),
    db.delete(teamInvites).where(
      inArray(
        teamInvites.id,
        all.map((i) => i.id),
      ),
    ),
  ]);
  events.publish(accepted.filter((_, i) => written(results[i + 1])).map((a) => a.event));
  return { org: found.org.username, team: found.team.name };
}

/**
 * Quay's `delete_team_invite` (declining): only the invitee may. Quay lets only an invitation naming
 * an account be declined; Wharf also lets the holder of the invited email decline, as they may accept.
 */
export async function declineInvite(db: Db, code: string, user: User, events: EventScope): Promise<void> {
  const found = await findByCode(db, code);
  if (!found || !addressedTo(found.invite, user)) throw invalidCode();
  const event = namespaceEvent("org_team_member_invite_declined", found.org.username, events.origin, {
    team: teamRef(found.team),
    member: accountRef(user),
  });
  const [row] = await db.batch([
    conditionalEvent(db, event, sql`exists (select 1 from ${teamInvites} where id = ${found.invite.id})`),
    db.delete(teamInvites).where(eq(teamInvites.id, found.invite.id)),
  ]);
  if (written(row)) events.publish([event]);
}
