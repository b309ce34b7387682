/**
 * Organizations (Quay's namespaces owned by teams). Creating one makes its `owners` team (role
 * admin) with the creator in it, in one D1 batch. The rest of the organization API (members,
 * teams, settings, deletion) comes with the tenancy issue (#5).
 */
import { and, eq, sql } from "drizzle-orm";
import type { Config } from "../config";
import type { Db } from "../db/client";
import { teamMembers, teams, users, type User } from "../db/schema";
import { invalidRequest } from "../api/errors";
import { avatar, ensureAvailable, uniqueViolation } from "./users";

export const OWNERS_TEAM = "owners";

export async function findOrganization(db: Db, name: string): Promise<User | undefined> {
  return db
    .select()
    .from(users)
    .where(and(eq(users.username, name), eq(users.kind, "organization")))
    .get();
}

export async function createOrganization(db: Db, creator: User, input: { name: string; email: string | null }): Promise<User> {
  await ensureAvailable(db, input.name, input.email);
  const orgId = sql`(select id from ${users} where username = ${input.name} and kind = 'organization')`;
  // One batch (one transaction): the rows refer to each other through subqueries on the new name.
  await runCreate(db, [
    db.insert(users).values({ username: input.name, email: input.email, kind: "organization" }),
    db.insert(teams).values({ organizationId: orgId, name: OWNERS_TEAM, role: "admin" }),
    db.insert(teamMembers).values({
      teamId: sql`(select id from ${teams} where organization_id = ${orgId} and name = ${OWNERS_TEAM})`,
      userId: creator.id,
    }),
  ]);
  return (await findOrganization(db, input.name))!;
}

/** A lost race on the name (two creations at once) answers as the check before it does. */
async function runCreate(db: Db, statements: Parameters<Db["batch"]>[0]): Promise<void> {
  try {
    await db.batch(statements);
  } catch (err) {
    if (uniqueViolation(err)) throw invalidRequest("The username already exists");
    throw err;
  }
}

/** The strongest role `user` holds in organization `orgName` through its teams, or null. */
export async function organizationRole(db: Db, userId: number, orgName: string): Promise<"admin" | "creator" | "member" | null> {
  const rows = await db
    .select({ role: teams.role })
    .from(teamMembers)
    .innerJoin(teams, eq(teams.id, teamMembers.teamId))
    .innerJoin(users, eq(users.id, teams.organizationId))
    .where(and(eq(teamMembers.userId, userId), eq(users.username, orgName), eq(users.kind, "organization")))
    .all();
  const roles = rows.map((r) => r.role);
  return roles.includes("admin") ? "admin" : roles.includes("creator") ? "creator" : roles.includes("member") ? "member" : null;
}

/** Quay's organization view: teams and the caller's standing in it. */
export async function organizationView(db: Db, _config: Config, org: User, viewer: User) {
  const role = await organizationRole(db, viewer.id, org.username);
  const view: Record<string, unknown> = {
    name: org.username,
    avatar: await avatar(org.username, org.email, "org"),
    is_admin: role === "admin",
    is_member: role !== null,
    can_create_repo: role === "admin" || role === "creator",
    public: false,
    tag_expiration_s: 1_209_600,
    invoice_email: false,
  };
  if (role === "admin") view.email = org.email;
  if (role !== null) {
    const rows = await db
      .select({
        name: teams.name,
        description: teams.description,
        role: teams.role,
        members: sql<number>`(select count(*) from ${teamMembers} where ${teamMembers.teamId} = ${teams.id})`,
      })
      .from(teams)
      .where(eq(teams.organizationId, org.id))
      .orderBy(teams.name)
      .all();
    const entries = await Promise.all(
      rows.map(async (t) => [
        t.name,
        // repo_count counts explicit repository permissions of the team; those arrive with #5.
        { name: t.name, description: t.description, role: t.role, avatar: await avatar(t.name, null, "team"), can_view: true, repo_count: 0, member_count: t.members, is_synced: false },
      ]),
    );
    view.teams = Object.fromEntries(entries);
    view.ordered_teams = rows.map((t) => t.name);
  }
  return view;
}

/**
 * Organizations whose owners team holds only `userId`: deleting that user would leave them with
 * no one to administer them (Quay refuses such a deletion too).
 */
export async function organizationsOnlyOwnedBy(db: Db, userId: number): Promise<string[]> {
  const rows = await db
    .select({ name: users.username })
    .from(teams)
    .innerJoin(teamMembers, eq(teamMembers.teamId, teams.id))
    .innerJoin(users, eq(users.id, teams.organizationId))
    .where(
      and(
        eq(teams.role, "admin"),
        eq(teamMembers.userId, userId),
        sql`(select count(*) from ${teamMembers} m join ${teams} t on t.id = m.team_id where t.organization_id = ${teams.organizationId} and t.role = 'admin') = 1`,
      ),
    )
    .all();
  return rows.map((r) => r.name);
}
