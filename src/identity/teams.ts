/**
 * An organization's teams and their members (Quay `data/model/team.py`, `endpoints/api/team.py`).
 * A team gives its members an organization-wide role (member, creator, admin) and whatever
 * repository permissions it is granted (./repository-permissions.ts); ./permissions.ts reads both.
 * Invitations are in ./team-invites.ts, the JSON views in ./team-views.ts. Every change commits
 * with its event (Quay's `org_*_team*` kinds). Refusals that Quay raises as a DataModelException
 * answer as Quay's error handler does: 400 with a `message` field.
 */
import { and, asc, count, eq, ne, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { modelError } from "../errors/domain";
import { teamInvites, teamMembers, teams, users, type Team, type User } from "../db/schema";
import { OWNERS_TEAM, type TeamRole } from "./organizations";
import { parseRobotName } from "./robots";
import { uniqueViolation } from "./users";
import type { RegistryEvent } from "../events/catalogue";
import { type EventScope, eventStatement } from "../events/outbox";
import { accountRef, commitWithEvents, conditionalEvent, namespaceEvent, teamRef, written } from "./account-events";

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
  events: EventScope,
): Promise<{ team: Team; created: boolean }> {
  let team = await findTeam(db, org, name);
  if (!team) {
    assertValidTeamName(name);
    const created = await createTeam(db, org, name, input, events);
    if (created) return { team: created, created: true };
    // Two creations at once: the loser updates what the winner made, as a later call would.
    team = (await findTeam(db, org, name))!;
  }
  const values: Partial<typeof teams.$inferInsert> = {};
  const changes: RegistryEvent[] = [];
  if (input.description !== undefined && input.description !== team.description) {
    values.description = input.description;
    changes.push(
      namespaceEvent("org_set_team_description", org.username, events.origin, {
        team: teamRef(team),
        description: input.description,
      }),
    );
  }
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
    changes.push(
      namespaceEvent("org_set_team_role", org.username, events.origin, { team: teamRef(team), role: input.role }),
    );
  }
  if (changes.length === 0) return { team, created: false };
  const update = db.update(teams).set(values).where(eq(teams.id, team.id)).returning();
  const [updated] = (await commitWithEvents(db, events, [update], changes)) as Team[][];
  return { team: updated![0]!, created: false };
}

/**
 * Creates team `name` with its `org_create_team` event, in one batch; undefined when a concurrent
 * call made it first (the unique name rolls the batch back, event included).
 */
async function createTeam(db: Db, org: User, name: string, input: TeamInput, events: EventScope) {
  const description = input.description ?? "";
  const event = namespaceEvent("org_create_team", org.username, events.origin, {
    team: { name, id: 0 },
    role: input.role,
    description,
  });
  try {
    const [inserted] = await db.batch([
      db.insert(teams).values({ organizationId: org.id, name, role: input.role, description }).returning(),
      // The team's id is the batch's to know: the event reads it in its statement.
      eventStatement(db, event, {
        computed: {
          "$.data.team.id": sql`(select id from ${teams} where organization_id = ${org.id} and name = ${name})`,
        },
      }),
    ]);
    const created = inserted[0]!;
    events.publish([{ ...event, data: { ...event.data, team: teamRef(created) } }]);
    return created;
  } catch (err) {
    if (uniqueViolation(err)) return undefined;
    throw err;
  }
}

/**
 * Deletes the team; its memberships, invitations, repository permissions and default permissions
 * go with it (foreign keys cascade). Refused as in Quay when it is the caller's only admin team,
 * and always for `owners`.
 */
export async function deleteTeam(db: Db, org: User, team: Team, caller: User, events: EventScope): Promise<void> {
  if (team.name === OWNERS_TEAM)
    throw modelError(`Cannot delete team '${OWNERS_TEAM}': an organization keeps its owners team`);
  if (team.role === "admin" && (await isOnlyAdminTeamOf(db, org, team, caller))) {
    throw modelError(
      `Deleting team '${team.name}' would remove admin ability for user '${caller.username}' in organization '${org.username}'`,
    );
  }
  const event = namespaceEvent("org_delete_team", org.username, events.origin, { team: teamRef(team) });
  const [row] = await db.batch([
    conditionalEvent(db, event, sql`exists (select 1 from ${teams} where id = ${team.id})`),
    db.delete(teams).where(eq(teams.id, team.id)),
  ]);
  if (written(row)) events.publish([event]);
}

/** Quay's `get_user`: a user or robot by name; organizations are not users. */
export async function findMemberCandidate(db: Db, name: string): Promise<User | undefined> {
  const user = await db.select().from(users).where(eq(users.username, name)).get();
  return user && user.kind !== "organization" ? user : undefined;
}

/** The row of `member` in `team`. */
const membership = (team: Team, member: User) =>
  and(eq(teamMembers.teamId, team.id), eq(teamMembers.userId, member.id));

/**
 * Adds `member` to `team` directly: Wharf has no mailer, so it behaves as Quay without
 * FEATURE_MAILING (no invitation for people). A robot must be the organization's own.
 */
export async function addTeamMember(db: Db, org: User, team: Team, member: User, events: EventScope): Promise<void> {
  if (member.kind === "robot" && parseRobotName(member.username)?.namespace !== org.username) {
    throw modelError("Cannot add the specified robot to this team, as it is not a member of the organization");
  }
  const event = namespaceEvent("org_add_team_member", org.username, events.origin, {
    team: teamRef(team),
    member: accountRef(member),
  });
  const [row] = await db.batch([
    conditionalEvent(db, event, sql`not exists (select 1 from ${teamMembers} where ${membership(team, member)})`),
    db.insert(teamMembers).values({ teamId: team.id, userId: member.id }).onConflictDoNothing(),
  ]);
  if (!written(row)) throw modelError(`User ${member.username} is already a member of team ${team.name}`);
  events.publish([event]);
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
  events: EventScope,
): Promise<"invite" | "member"> {
  const invited = and(eq(teamInvites.teamId, team.id), eq(teamInvites.userId, member.id));
  const cancel = namespaceEvent("org_delete_team_member_invite", org.username, events.origin, {
    team: teamRef(team),
    email: null,
    member: accountRef(member),
  });
  const [cancelled] = await db.batch([
    conditionalEvent(db, cancel, sql`exists (select 1 from ${teamInvites} where ${invited})`),
    db.delete(teamInvites).where(invited),
  ]);
  if (written(cancelled)) {
    events.publish([cancel]);
    return "invite";
  }
  const belongs = await db
    .select({ userId: teamMembers.userId })
    .from(teamMembers)
    .where(membership(team, member))
    .get();
  if (!belongs) throw modelError(`User ${member.username} does not belong to team ${team.name}`);
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
  const removed = namespaceEvent("org_remove_team_member", org.username, events.origin, {
    team: teamRef(team),
    member: accountRef(member),
  });
  const [row] = await db.batch([
    conditionalEvent(db, removed, sql`exists (select 1 from ${teamMembers} where ${membership(team, member)})`),
    db.delete(teamMembers).where(membership(team, member)),
  ]);
  if (written(row)) events.publish([removed]);
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
