/**
 * Who an organization's people are (Quay `endpoints/api/organization.py`): its members (the users
 * in any of its teams) and its outside collaborators (users with a direct permission on one of its
 * repositories but in none of its teams). Robots are neither, as in Quay
 * (`list_organization_member_permissions` and the members list skip them).
 */
import { and, asc, eq, isNotNull } from "drizzle-orm";
import type { Db } from "../db/client";
import { repositories, repositoryPermissions, teamMembers, teams, users, type User } from "../db/schema";
import { avatar } from "./users";
import { shortName } from "../registry/repository-name";

/** Quay names a repository within its namespace in these lists. */

/** Direct (user) permissions of humans on the organization's repositories, by user then repository. */
async function directPermissions(db: Db, org: User) {
  return db
    .select({ user: users, repository: repositories.name })
    .from(repositoryPermissions)
    .innerJoin(repositories, eq(repositories.id, repositoryPermissions.repositoryId))
    .innerJoin(users, eq(users.id, repositoryPermissions.userId))
    .where(
      and(eq(repositories.namespace, org.username), isNotNull(repositoryPermissions.userId), eq(users.kind, "user")),
    )
    .orderBy(asc(users.username), asc(repositories.name))
    .all();
}

/** `GET /api/v1/organization/{orgname}/members`: each human member with their teams and direct repositories. */
export async function organizationMembers(db: Db, org: User) {
  const rows = await db
    .select({ user: users, team: teams.name })
    .from(teamMembers)
    .innerJoin(teams, eq(teams.id, teamMembers.teamId))
    .innerJoin(users, eq(users.id, teamMembers.userId))
    .where(and(eq(teams.organizationId, org.id), eq(users.kind, "user")))
    .orderBy(asc(users.username), asc(teams.name))
    .all();
  const members = new Map<
    string,
    { name: string; kind: "user"; avatar: unknown; teams: unknown[]; repositories: string[] }
  >();
  for (const { user, team } of rows) {
    let member = members.get(user.username);
    if (!member) {
      member = {
        name: user.username,
        kind: "user",
        avatar: await avatar(user.username, user.email),
        teams: [],
        repositories: [],
      };
      members.set(user.username, member);
    }
    member.teams.push({ name: team, avatar: await avatar(team, null, "team") });
  }
  for (const { user, repository } of await directPermissions(db, org))
    members.get(user.username)?.repositories.push(shortName(repository));
  return { members: [...members.values()] };
}

/** `GET /api/v1/organization/{orgname}/collaborators`: humans with direct permissions and no team here. */
export async function organizationCollaborators(db: Db, org: User) {
  const inTeams = new Set(
    (
      await db
        .select({ userId: teamMembers.userId })
        .from(teamMembers)
        .innerJoin(teams, eq(teams.id, teamMembers.teamId))
        .where(eq(teams.organizationId, org.id))
        .all()
    ).map((r) => r.userId),
  );
  const collaborators = new Map<string, { kind: "user"; name: string; avatar: unknown; repositories: string[] }>();
  for (const { user, repository } of await directPermissions(db, org)) {
    if (inTeams.has(user.id)) continue;
    let entry = collaborators.get(user.username);
    if (!entry) {
      entry = { kind: "user", name: user.username, avatar: await avatar(user.username, user.email), repositories: [] };
      collaborators.set(user.username, entry);
    }
    entry.repositories.push(shortName(repository));
  }
  return { collaborators: [...collaborators.values()] };
}
