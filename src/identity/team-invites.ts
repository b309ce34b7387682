/**
 * Invitations to join a team (Quay `TeamMemberInvite`, `data/model/team.py`): an organization
 * admin invites an email address (`PUT …/team/{teamname}/invite/{email}`); whoever holds the code
 * and signs in with that (verified) email accepts (`PUT /api/v1/teaminvite/{code}`) or declines
 * (`DELETE`). Quay mails the code; Wharf has no mailer yet, so `inviteEmail` returns it to its
 * caller and nothing else sees it: only its SHA-256 is stored, and it is never logged.
 */
import { and, eq, inArray, isNull, or, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { teamInvites, teamMembers, teams, users, type Team, type TeamInvite, type User } from "../db/schema";
import { sha256Hex } from "../lib/encoding";
import { randomString } from "./passwords";
import { modelError } from "../errors/domain";
import { memberView } from "./teams";
import { avatar } from "./users";

const CODE_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const CODE_LENGTH = 64;

/**
 * Invites `email` to `team`, or renews the invitation already pending for it (a new code; the old
 * one stops working). Returns the invitation and its code, the one thing to deliver.
 */
export async function inviteEmail(
  db: Db,
  team: Team,
  inviter: User,
  email: string,
): Promise<{ invite: TeamInvite; code: string }> {
  const code = randomString(CODE_ALPHABET, CODE_LENGTH);
  const codeHash = await sha256Hex(code);
  const invite = await db
    .insert(teamInvites)
    .values({ teamId: team.id, email, inviterId: inviter.id, codeHash })
    .onConflictDoUpdate({
      target: [teamInvites.teamId, teamInvites.email],
      set: { codeHash, inviterId: inviter.id, createdAt: sql`(cast(unixepoch('subsecond') * 1000 as integer))` },
    })
    .returning()
    .get();
  return { invite: invite!, code };
}

/** Cancels the pending invitation of `email` to `team`; false when there was none (Quay: 404). */
export async function deleteEmailInvite(db: Db, team: Team, email: string): Promise<boolean> {
  const gone = await db
    .delete(teamInvites)
    .where(and(eq(teamInvites.teamId, team.id), eq(teamInvites.email, email)))
    .returning({ id: teamInvites.id });
  return gone.length > 0;
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
 * Quay's `confirm_team_invite`: the invitation must be addressed to `user` (Quay's messages name
 * the intended user or email), and accepting it accepts every invitation of theirs to the same
 * organization, in one batch. Answers Quay's `{"org": <name>, "team": <name>}`.
 */
export async function acceptInvite(db: Db, code: string, user: User): Promise<{ org: string; team: string }> {
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
    .select({ id: teamInvites.id, teamId: teamInvites.teamId })
    .from(teamInvites)
    .innerJoin(teams, eq(teams.id, teamInvites.teamId))
    .where(and(eq(teams.organizationId, found.org.id), or(eq(teamInvites.userId, user.id), byEmail)))
    .all();
  await db.batch([
    db
      .insert(teamMembers)
      .values(all.map((i) => ({ teamId: i.teamId, userId: user.id })))
      .onConflictDoNothing(),
    db.delete(teamInvites).where(
      inArray(
        teamInvites.id,
        all.map((i) => i.id),
      ),
    ),
  ]);
  return { org: found.org.username, team: found.team.name };
}

/**
 * Quay's `delete_team_invite` (declining): only the invitee may. Quay lets only an invitation naming
 * an account be declined; Wharf also lets the holder of the invited email decline, as they may accept.
 */
export async function declineInvite(db: Db, code: string, user: User): Promise<void> {
  const found = await findByCode(db, code);
  if (!found || !addressedTo(found.invite, user)) throw invalidCode();
  await db.delete(teamInvites).where(eq(teamInvites.id, found.invite.id));
}
