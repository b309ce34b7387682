/**
 * How teams and their members look through Quay's API (`endpoints/api/team.py` `team_view`,
 * `member_view`, and a team's repository permissions); ./teams.ts holds the teams themselves.
 */
import { asc, eq } from "drizzle-orm";
import type { Db } from "../db/client";
import { repositories, repositoryPermissions, type Team, type User } from "../db/schema";
import { shortName } from "../registry/repository-name";
import { avatar } from "./users";

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
