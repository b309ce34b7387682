/**
 * One member of an organization (Quay `endpoints/api/organization.py` `OrganizationMember`,
 * `data/model/organization.py` `remove_organization_member`): their view (the organization's teams
 * they are in and their direct permissions on its repositories) and their removal from all of it.
 * The list of every member is ./organization-members.ts.
 */
import { and, asc, eq, sql } from "drizzle-orm";
import type { Db, Statement } from "../db/client";
import { modelError, notFound } from "../errors/domain";
import { repositories, repositoryPermissions, teamMembers, teams, users, type User } from "../db/schema";
import type { RegistryEvent } from "../events/catalogue";
import type { EventScope } from "../events/outbox";
import { repositoryEvent } from "../registry/repository-events";
import { shortName } from "../registry/repository-name";
import { accountRef, conditionalEvent, namespaceEvent, teamRef, written } from "./account-events";
import { OWNERS_TEAM } from "./organizations";
import { parseRobotName } from "./robots";
import { avatar, findUser } from "./users";

/** The teams of `org` that `member` belongs to, by name. */
function teamsOf(db: Db, org: User, member: User) {
  return db
    .select({ id: teams.id, name: teams.name, role: teams.role })
    .from(teamMembers)
    .innerJoin(teams, eq(teams.id, teamMembers.teamId))
    .where(and(eq(teams.organizationId, org.id), eq(teamMembers.userId, member.id)))
    .orderBy(asc(teams.name))
    .all();
}

/** `member`'s own (not team) permissions on `org`'s repositories, by repository name. */
function directPermissionsOf(db: Db, org: User, member: User) {
  return db
    .select({ id: repositories.id, name: repositories.name })
    .from(repositoryPermissions)
    .innerJoin(repositories, eq(repositories.id, repositoryPermissions.repositoryId))
    .where(and(eq(repositories.namespace, org.username), eq(repositoryPermissions.userId, member.id)))
    .orderBy(asc(repositories.name))
    .all();
}

/**
 * `GET …/members/{membername}`: a user or robot (Quay's `get_user`) with its teams and direct
 * repositories. 404, as Quay, for an unknown name and for anyone in none of the organization's
 * teams, except the organization's own robots, which are members by being its.
 */
export async function organizationMemberView(db: Db, org: User, name: string) {
  const member = await findUser(db, name);
  if (!member || member.kind === "organization" || member.deletingSince !== null) throw notFound();
  const [memberTeams, permissions] = await Promise.all([
    teamsOf(db, org, member),
    directPermissionsOf(db, org, member),
  ]);
  const isRobot = member.kind === "robot";
  if (memberTeams.length === 0 && !(isRobot && parseRobotName(member.username)?.namespace === org.username))
    throw notFound();
  return {
    name: member.username,
    kind: isRobot ? "robot" : "user",
    avatar: await avatar(member.username, member.email, isRobot ? "robot" : "user"),
    teams: await Promise.all(
      memberTeams.map(async (t) => ({ name: t.name, avatar: await avatar(t.name, null, "team") })),
    ),
    repositories: permissions.map((p) => shortName(p.name)),
  };
}

/** The people (not robots) in `org`'s teams of role admin (Quay's `__get_org_admin_users`), and those in `owners`. */
async function administrators(db: Db, org: User) {
  const rows = await db
    .selectDistinct({ userId: teamMembers.userId, team: teams.name, role: teams.role })
    .from(teamMembers)
    .innerJoin(teams, eq(teams.id, teamMembers.teamId))
    .innerJoin(users, eq(users.id, teamMembers.userId))
    .where(and(eq(teams.organizationId, org.id), eq(users.kind, "user")))
    .all();
  return {
    admins: new Set(rows.filter((r) => r.role === "admin").map((r) => r.userId)),
    owners: new Set(rows.filter((r) => r.team === OWNERS_TEAM).map((r) => r.userId)),
  };
}

/**
 * `DELETE …/members/{membername}`: takes the person out of every team of `org` and removes every
 * permission they hold on its repositories, in one batch with an `org_remove_team_member` event per
 * team and a `delete_repo_permission` event per repository (each written only if its row was still
 * there). Someone in no team and with no permission is removed from nothing, and it is no error
 * (Quay answers 204 as well). Refused as in Quay for the organization's only admin; refused beyond
 * Quay when it would empty `owners` (an organization keeps someone to administer it, as
 * ./teams.ts `removeTeamMember` does).
 */
export async function removeOrganizationMember(db: Db, org: User, name: string, events: EventScope): Promise<void> {
  const member = await findUser(db, name);
  // Quay's `get_nonrobot_user`: robots are removed from teams one by one, not here.
  if (member?.kind !== "user" || member.deletingSince !== null) throw notFound();
  const { admins, owners } = await administrators(db, org);
  if (admins.size === 1 && admins.has(member.id))
    throw modelError("Cannot remove user as they are the only organization admin");
  if (owners.size === 1 && owners.has(member.id))
    throw modelError(
      `Cannot remove ${member.username} from team '${OWNERS_TEAM}': organization '${org.username}' must keep an admin`,
    );
  const [memberTeams, permissions] = await Promise.all([
    teamsOf(db, org, member),
    directPermissionsOf(db, org, member),
  ]);
  const statements: Statement[] = [];
  const emitted: RegistryEvent[] = [];
  for (const team of memberTeams) {
    const membership = and(eq(teamMembers.teamId, team.id), eq(teamMembers.userId, member.id));
    const event = namespaceEvent("org_remove_team_member", org.username, events.origin, {
      team: teamRef(team),
      member: accountRef(member),
    });
    statements.push(
      conditionalEvent(db, event, sql`exists (select 1 from ${teamMembers} where ${membership})`),
      db.delete(teamMembers).where(membership),
    );
    emitted.push(event);
  }
  for (const repository of permissions) {
    const grant = and(
      eq(repositoryPermissions.repositoryId, repository.id),
      eq(repositoryPermissions.userId, member.id),
    );
    const event = repositoryEvent("delete_repo_permission", repository, events.origin, {
      delegate: accountRef(member),
    });
    statements.push(
      conditionalEvent(db, event, sql`exists (select 1 from ${repositoryPermissions} where ${grant})`),
      db.delete(repositoryPermissions).where(grant),
    );
    emitted.push(event);
  }
  if (statements.length === 0) return;
  const results = await db.batch(statements as [Statement, ...Statement[]]);
  // Each event statement precedes its delete: results at even positions say whether it was written.
  events.publish(emitted.filter((_, i) => written(results[i * 2])));
}
