/**
 * Explicit repository permissions (Quay `endpoints/api/permission.py`): a role of read, write or
 * admin on one repository for a user or robot (`…/permissions/user/...`), or for a team of the
 * repository's organization (`…/permissions/team/...`), whose members then hold it. Each grant,
 * change and removal commits with its event (Quay's `add|change|delete_repo_permission`).
 */
import { and, asc, eq, inArray, or, type SQL, sql } from "drizzle-orm";
import { invalid } from "../errors/domain";
import type { Db, Statement } from "../db/client";
import {
  repositories,
  repositoryPermissions,
  robotAccounts,
  teamMembers,
  teams,
  users,
  type Repository,
  type RepositoryRole,
  type Team,
  type User,
} from "../db/schema";
import { findOrganization, organizationRole } from "./organizations";
import { parseRobotName, type Robot } from "./robots";
import { avatar } from "./users";
import { shortName } from "../registry/repository-name";
import { repositoryEvent } from "../registry/repository-events";
import type { Delegate } from "../events/identity-catalogue";
import type { EventScope } from "../events/outbox";
import { accountRef, conditionalEvent, teamRef, written } from "./account-events";

export const ROLES = ["read", "write", "admin"] as const satisfies readonly RepositoryRole[];

/** The explicit role `userId` holds on `repositoryId`, if any. */
export async function explicitRole(db: Db, repositoryId: number, userId: number): Promise<RepositoryRole | null> {
  const row = await db
    .select({ role: repositoryPermissions.role })
    .from(repositoryPermissions)
    .where(and(eq(repositoryPermissions.repositoryId, repositoryId), eq(repositoryPermissions.userId, userId)))
    .get();
  return row?.role ?? null;
}

/**
 * Quay refuses a robot on another namespace's repository ("Cannot add robot … under namespace …"),
 * and organizations, which cannot sign in, hold no permissions.
 */
export function assertGrantable(repository: Repository, grantee: User): void {
  if (grantee.kind === "organization") throw invalid(`${grantee.username} is an organization, not a user`);
  if (grantee.kind === "robot" && parseRobotName(grantee.username)?.namespace !== repository.namespace) {
    throw invalid(`Cannot add robot ${grantee.username} under namespace ${repository.namespace}`);
  }
}

/**
 * Sets `delegate`'s role with `upsert`, and its event: `add_repo_permission` when it held none,
 * `change_repo_permission` when it held another; none when the role stays (nothing changed). Both
 * events are conditional statements before the upsert, on the grant as it was (`held` selects it).
 */
async function setRole(
  db: Db,
  repository: Repository,
  delegate: Delegate,
  held: SQL | undefined,
  upsert: Statement,
  role: RepositoryRole,
  events: EventScope,
): Promise<void> {
  const where = and(eq(repositoryPermissions.repositoryId, repository.id), held);
  const grant = sql`select 1 from ${repositoryPermissions} where ${where}`;
  const added = repositoryEvent("add_repo_permission", repository, events.origin, { delegate, role });
  const changed = repositoryEvent("change_repo_permission", repository, events.origin, { delegate, role });
  const [addedRow, changedRow] = await db.batch([
    conditionalEvent(db, added, sql`not exists (${grant})`),
    conditionalEvent(db, changed, sql`exists (${grant} and ${repositoryPermissions.role} <> ${role})`),
    upsert,
  ]);
  events.publish([...(written(addedRow) ? [added] : []), ...(written(changedRow) ? [changed] : [])]);
}

/**
 * Removes the grant `held` selects, with its `delete_repo_permission` event (written only when
 * there was one); false when there was none.
 */
async function deleteRole(
  db: Db,
  repository: Repository,
  delegate: Delegate,
  held: SQL | undefined,
  events: EventScope,
): Promise<boolean> {
  const where = and(eq(repositoryPermissions.repositoryId, repository.id), held);
  const event = repositoryEvent("delete_repo_permission", repository, events.origin, { delegate });
  const [row] = await db.batch([
    conditionalEvent(db, event, sql`exists (select 1 from ${repositoryPermissions} where ${where})`),
    db.delete(repositoryPermissions).where(where),
  ]);
  if (!written(row)) return false;
  events.publish([event]);
  return true;
}

export async function setUserRole(
  db: Db,
  repository: Repository,
  grantee: User,
  role: RepositoryRole,
  events: EventScope,
): Promise<void> {
  assertGrantable(repository, grantee);
  const upsert = db
    .insert(repositoryPermissions)
    .values({ repositoryId: repository.id, userId: grantee.id, role })
    .onConflictDoUpdate({ target: [repositoryPermissions.repositoryId, repositoryPermissions.userId], set: { role } });
  await setRole(
    db,
    repository,
    accountRef(grantee),
    eq(repositoryPermissions.userId, grantee.id),
    upsert,
    role,
    events,
  );
}

/** Removes the grant; false when there was none. */
export async function deleteUserRole(
  db: Db,
  repository: Repository,
  grantee: User,
  events: EventScope,
): Promise<boolean> {
  return deleteRole(db, repository, accountRef(grantee), eq(repositoryPermissions.userId, grantee.id), events);
}

export async function listUserRoles(
  db: Db,
  repository: Repository,
): Promise<Array<{ user: User; role: RepositoryRole }>> {
  return db
    .select({ user: users, role: repositoryPermissions.role })
    .from(repositoryPermissions)
    .innerJoin(users, eq(users.id, repositoryPermissions.userId))
    .where(eq(repositoryPermissions.repositoryId, repository.id))
    .orderBy(asc(users.username))
    .all();
}

/** Quay's user permission JSON: `{role, name, is_robot, avatar}` (+ `is_org_member` in organizations). */
export async function userRoleView(db: Db, repository: Repository, user: User, role: RepositoryRole) {
  const isRobot = user.kind === "robot";
  const view: Record<string, unknown> = {
    role,
    name: user.username,
    is_robot: isRobot,
    avatar: await avatar(user.username, user.email, isRobot ? "robot" : "user"),
  };
  const namespace = await db
    .select({ kind: users.kind })
    .from(users)
    .where(eq(users.username, repository.namespace))
    .get();
  if (namespace?.kind === "organization") {
    view.is_org_member = isRobot
      ? parseRobotName(user.username)?.namespace === repository.namespace
      : (await organizationRole(db, user.id, repository.namespace)) !== null;
  }
  return view;
}

/** What `GET …/robots?permissions=true` adds to each robot: its teams and repositories (Quay's robot list). */
export async function robotPermissionsView(db: Db, robot: Robot) {
  const [teamRows, repositoryRows] = await Promise.all([
    db
      .select({ name: teams.name })
      .from(teamMembers)
      .innerJoin(teams, eq(teams.id, teamMembers.teamId))
      .where(eq(teamMembers.userId, robot.user.id))
      .orderBy(asc(teams.name))
      .all(),
    db
      .select({ name: repositories.name, visibility: repositories.visibility, role: repositoryPermissions.role })
      .from(repositoryPermissions)
      .innerJoin(repositories, eq(repositories.id, repositoryPermissions.repositoryId))
      .innerJoin(robotAccounts, eq(robotAccounts.userId, repositoryPermissions.userId))
      .where(eq(repositoryPermissions.userId, robot.user.id))
      .orderBy(asc(repositories.name))
      .all(),
  ]);
  return {
    teams: await Promise.all(teamRows.map(async (t) => ({ name: t.name, avatar: await avatar(t.name, null, "team") }))),
    // Quay names a repository within the namespace here (the robot's namespace is implied).
    repositories: repositoryRows.map((r) => ({
      name: shortName(r.name),
      is_public: r.visibility === "public",
      role: r.role,
    })),
  };
}

/**
 * The team `name` of the repository's organization, if any: Quay grants a team only on its own
 * organization's repositories (a user's namespace has no teams).
 */
export async function repositoryTeam(db: Db, repository: Repository, name: string): Promise<Team | undefined> {
  const org = await findOrganization(db, repository.namespace);
  if (!org) return undefined;
  return db
    .select()
    .from(teams)
    .where(and(eq(teams.organizationId, org.id), eq(teams.name, name)))
    .get();
}

export async function explicitTeamRole(db: Db, repositoryId: number, teamId: number): Promise<RepositoryRole | null> {
  const row = await db
    .select({ role: repositoryPermissions.role })
    .from(repositoryPermissions)
    .where(and(eq(repositoryPermissions.repositoryId, repositoryId), eq(repositoryPermissions.teamId, teamId)))
    .get();
  return row?.role ?? null;
}

export async function setTeamRole(
  db: Db,
  repository: Repository,
  team: Team,
  role: RepositoryRole,
  events: EventScope,
): Promise<void> {
  const upsert = db
    .insert(repositoryPermissions)
    .values({ repositoryId: repository.id, teamId: team.id, role })
    .onConflictDoUpdate({ target: [repositoryPermissions.repositoryId, repositoryPermissions.teamId], set: { role } });
  const delegate = { kind: "team" as const, ...teamRef(team) };
  await setRole(db, repository, delegate, eq(repositoryPermissions.teamId, team.id), upsert, role, events);
}

/** Removes the team's grant; false when there was none. */
export async function deleteTeamRole(db: Db, repository: Repository, team: Team, events: EventScope): Promise<boolean> {
  const delegate = { kind: "team" as const, ...teamRef(team) };
  return deleteRole(db, repository, delegate, eq(repositoryPermissions.teamId, team.id), events);
}

export async function listTeamRoles(
  db: Db,
  repository: Repository,
): Promise<Array<{ team: Team; role: RepositoryRole }>> {
  return db
    .select({ team: teams, role: repositoryPermissions.role })
    .from(repositoryPermissions)
    .innerJoin(teams, eq(teams.id, repositoryPermissions.teamId))
    .where(eq(repositoryPermissions.repositoryId, repository.id))
    .orderBy(asc(teams.name))
    .all();
}

/** Quay's team permission JSON: `{role, name, avatar}`. */
export async function teamRoleView(team: Team, role: RepositoryRole) {
  return { role, name: team.name, avatar: await avatar(team.name, null, "team") };
}

/**
 * Quay's `get_user_repo_permissions`: every explicit grant that reaches `user` on `repository`,
 * its own and those of the teams it belongs to, one role per grant (two teams granting read give
 * read twice, as in Quay). The namespace owner's implicit admin is no grant and is not listed.
 */
export async function transitiveRoles(db: Db, repository: Repository, user: User): Promise<RepositoryRole[]> {
  const ownTeams = db.select({ id: teamMembers.teamId }).from(teamMembers).where(eq(teamMembers.userId, user.id));
  const rows = await db
    .select({ role: repositoryPermissions.role })
    .from(repositoryPermissions)
    .where(
      and(
        eq(repositoryPermissions.repositoryId, repository.id),
        or(eq(repositoryPermissions.userId, user.id), inArray(repositoryPermissions.teamId, ownTeams)),
      ),
    )
    .orderBy(asc(repositoryPermissions.id))
    .all();
  return rows.map((r) => r.role);
}
