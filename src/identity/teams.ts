/**
 * An organization's teams and their members (Quay `data/model/team.py`, `endpoints/api/team.py`).
 * A team gives its members an organization-wide role (member, creator, admin) and whatever
 * repository permissions it is granted (./repository-permissions.ts); ./permissions.ts reads both.
 * Invitations are in ./team-invites.ts. Refusals that Quay raises as a DataModelException answer as
 * Quay's error handler does: 400 with a `message` field.
 */
import { and, asc, count, eq, ne } from "drizzle-orm";
import type { Db } from "../db/client";
import { modelError } from "../errors/domain";
import {
  repositories,
  repositoryPermissions,
  teamInvites,
  teamMembers,
  teams,
  users,
  type Team,
  type User,
} from "../db/schema";
import { OWNERS_TEAM, type TeamRole } from "./organizations";
import { parseRobotName } from "./robots";
import { avatar } from "./users";
import { shortName } from "../registry/repository-name";

export const TEAM_ROLES = ["member", "creator", "admin"] as const satisfies readonly TeamRole[];

/** Quay's VALID_TEAMNAME_REGEX (the username grammar: `example_team` is valid), 2-255 characters. */
const TEAM_NAME = /^([a-z0-9]+(?:[._-][a-z0-9]+)*)$/;

export function assertValidTeamName(name: string): void {
  if (!TEAM_NAME.test(name))
    throw modelError(`Invalid team name ${name}: Namespace must match expression ${TEAM_NAME.source}`);
  if (name.length < 2 || name.length > 255)
    throw modelError(`Invalid team name ${name}: Team must be between 2 and 255 characters in length`);
}

export async function findTeam(db: Db, org: User, name: string): Promise<Team | undefined> {
  return db
    .select()
    .from(teams)
    .where(and(eq(teams.organizationId, org.id), eq(teams.name, name)))
    .get();
}

/** The admin-role teams of `org` that `user` belongs to (Quay's `__get_user_admin_teams`). */
async function adminTeamIdsOf(db: Db, org: User, user: User): Promise<number[]> {
  const rows = await db
    .select({ id: teams.id })
    .from(teams)
    .innerJoin(teamMembers, eq(teamMembers.teamId, teams.id))
    .where(and(eq(teams.organizationId, org.id), eq(teams.role, "admin"), eq(teamMembers.userId, user.id)))
    .all();
  return rows.map((r) => r.id);
}

/** Whether `team` is the only admin team `user` belongs to in `org`: losing it would lose them the org. */
async function isOnlyAdminTeamOf(db: Db, org: User, team: Team, user: User): Promise<boolean> {
  const ids = await adminTeamIdsOf(db, org, user);
  return ids.length === 1 && ids[0] === team.id;
}

export interface TeamInput {
  role: TeamRole;
  description?: string;
}

/**
 * Quay's `PUT …/team/{teamname}`: creates the team, or updates the description and role of an
 * existing one. Refused as in Quay: demoting the caller's only admin team. Refused beyond Quay: the
 * `owners` team stays admin, so an organization always has an administering team.
 */
export async function saveTeam(
  db: Db,
  org: User,
  caller: User,
  name: string,
  input: TeamInput,
): Promise<{ team: Team; created: boolean }> {
  let team = await findTeam(db, org, name);
  if (!team) {
    assertValidTeamName(name);
    const created = await db
      .insert(teams)
      .values({ organizationId: org.id, name, role: input.role, description: input.description ?? "" })
      .onConflictDoNothing()
      .returning()
      .get();
    if (created) return { team: created, created: true };
    // Two creations at once: the loser updates what the winner made, as a later call would.
    team = (await findTeam(db, org, name))!;
  }
  const values: Partial<typeof teams.$inferInsert> = {};
  if (input.description !== undefined && input.description !== team.description) values.description = input.description;
  if (input.role !== team.role) {
    if (team.role === "admin") {
      if (team.name === OWNERS_TEAM)
        throw modelError(
          `Cannot change the role of team '${OWNERS_TEAM}': it is always admin on org '${org.username}'`,
        );
      if (await isOnlyAdminTeamOf(db, org, team, caller)) {
        throw modelError(
          `Cannot remove admin from team '${team.name}' because calling user would no longer have admin on org '${org.username}'`,
        );
      }
    }
    values.role = input.role;
  }
  if (Object.keys(values).length === 0) return { team, created: false };
  const updated = await db.update(teams).set(values).where(eq(teams.id, team.id)).returning().get();
  return { team: updated!, created: false };
}

/**
 * Deletes the team; its memberships, invitations, repository permissions and default permissions
 * go with it (foreign keys cascade). Refused as in Quay when it is the caller's only admin team,
 * and always for `owners`.
 */
export async function deleteTeam(db: Db, org: User, team: Team, caller: User): Promise<void> {
  if (team.name === OWNERS_TEAM)
    throw modelError(`Cannot delete team '${OWNERS_TEAM}': an organization keeps its owners team`);
  if (team.role === "admin" && (await isOnlyAdminTeamOf(db, org, team, caller))) {
    throw modelError(
      `Deleting team '${team.name}' would remove admin ability for user '${caller.username}' in organization '${org.username}'`,
    );
  }
  await db.delete(teams).where(eq(teams.id, team.id));
}

/** Quay's `get_user`: a user or robot by name; organizations are not users. */
export async function findMemberCandidate(db: Db, name: string): Promise<User | undefined> {
  const user = await db.select().from(users).where(eq(users.username, name)).get();
  return user && user.kind !== "organization" ? user : undefined;
}

/**
 * Adds `member` to `team` directly: Wharf has no mailer, so it behaves as Quay without
 * FEATURE_MAILING (no invitation for people). A robot must be the organization's own.
 */
export async function addTeamMember(db: Db, org: User, team: Team, member: User): Promise<void> {
  if (member.kind === "robot" && parseRobotName(member.username)?.namespace !== org.username) {
    throw modelError("Cannot add the specified robot to this team, as it is not a member of the organization");
  }
  const added = await db
    .insert(teamMembers)
    .values({ teamId: team.id, userId: member.id })
    .onConflictDoNothing()
    .returning({ userId: teamMembers.userId });
  if (added.length === 0) throw modelError(`User ${member.username} is already a member of team ${team.name}`);
}

/**
 * Quay's `DELETE …/members/{membername}`: cancels the member's pending invitation if there is one
 * ("invite"), else removes them ("member"). Refused as in Quay: removing oneself from one's only
 * admin team. Refused beyond Quay: removing the last person from `owners` (an organization must
 * keep someone to administer it; robots cannot use the API).
 */
export async function removeTeamMember(
  db: Db,
  org: User,
  team: Team,
  member: User,
  caller: User,
): Promise<"invite" | "member"> {
  const cancelled = await db
    .delete(teamInvites)
    .where(and(eq(teamInvites.teamId, team.id), eq(teamInvites.userId, member.id)))
    .returning({ id: teamInvites.id });
  if (cancelled.length > 0) return "invite";
  const membership = await db
    .select({ userId: teamMembers.userId })
    .from(teamMembers)
    .where(and(eq(teamMembers.teamId, team.id), eq(teamMembers.userId, member.id)))
    .get();
  if (!membership) throw modelError(`User ${member.username} does not belong to team ${team.name}`);
  if (member.id === caller.id && team.role === "admin" && (await isOnlyAdminTeamOf(db, org, team, caller))) {
    throw modelError("User cannot remove themselves from their only admin team.");
  }
  if (team.name === OWNERS_TEAM && member.kind === "user") {
    const others = await db
      .select({ n: count() })
      .from(teamMembers)
      .innerJoin(users, eq(users.id, teamMembers.userId))
      .where(and(eq(teamMembers.teamId, team.id), eq(users.kind, "user"), ne(users.id, member.id)))
      .get();
    if (!others?.n)
      throw modelError(
        `Cannot remove ${member.username} from team '${OWNERS_TEAM}': organization '${org.username}' must keep an admin`,
      );
  }
  await db.delete(teamMembers).where(and(eq(teamMembers.teamId, team.id), eq(teamMembers.userId, member.id)));
  return "member";
}

export async function listTeamMembers(db: Db, team: Team): Promise<User[]> {
  const rows = await db
    .select({ user: users })
    .from(teamMembers)
    .innerJoin(users, eq(users.id, teamMembers.userId))
    .where(eq(teamMembers.teamId, team.id))
    .orderBy(asc(users.username))
    .all();
  return rows.map((r) => r.user);
}

/** Whether `user` belongs to `team` (Quay's ViewTeamPermission for non-admins). */
export async function isTeamMember(db: Db, team: Team, user: User): Promise<boolean> {
  const row = await db
    .select({ userId: teamMembers.userId })
    .from(teamMembers)
    .where(and(eq(teamMembers.teamId, team.id), eq(teamMembers.userId, user.id)))
    .get();
  return row !== undefined;
}

/** Quay's `team_view`. */
export async function teamView(team: Team, created: boolean) {
  return {
    name: team.name,
    description: team.description,
    can_view: true,
    role: team.role,
    avatar: await avatar(team.name, null, "team"),
    new_team: created,
  };
}

/** Quay's `member_view`: robots are `kind: "user"` too, told apart by `is_robot`. */
export async function memberView(user: User, invited: boolean) {
  const isRobot = user.kind === "robot";
  return {
    name: user.username,
    kind: "user",
    is_robot: isRobot,
    avatar: await avatar(user.username, user.email, isRobot ? "robot" : "user"),
    invited,
  };
}

/** Quay's `GET …/team/{teamname}/permissions`: the team's repository roles, names within the namespace. */
export async function teamPermissionsView(db: Db, team: Team) {
  const rows = await db
    .select({ name: repositories.name, visibility: repositories.visibility, role: repositoryPermissions.role })
    .from(repositoryPermissions)
    .innerJoin(repositories, eq(repositories.id, repositoryPermissions.repositoryId))
    .where(eq(repositoryPermissions.teamId, team.id))
    .orderBy(asc(repositories.name))
    .all();
  return {
    permissions: rows.map((r) => ({
      repository: { name: shortName(r.name), is_public: r.visibility === "public" },
      role: r.role,
    })),
  };
}
