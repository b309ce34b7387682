/**
 * Organizations (Quay `data/model/organization.py`, `endpoints/api/organization.py`): namespaces
 * owned by teams. Creating one makes its `owners` team (role admin) with the creator in it, in one
 * D1 batch. Teams themselves are in ./teams.ts; members and collaborators in ./organization-members.ts.
 * An organization being deleted (`deletingSince` set) is hidden at once: it is found by nothing here.
 */
import { and, asc, eq, inArray, isNull, sql } from "drizzle-orm";
import { conflict, modelError } from "../errors/domain";
import type { Db } from "../db/client";
import { teamMembers, teams, users, type User } from "../db/schema";
import { grants, type Scope } from "./scopes";
import { avatar, ensureAvailable, uniqueViolation } from "./users";

export const OWNERS_TEAM = "owners";

export type TeamRole = "member" | "creator" | "admin";

export async function findOrganization(db: Db, name: string): Promise<User | undefined> {
  return db
    .select()
    .from(users)
    .where(and(eq(users.username, name), eq(users.kind, "organization"), isNull(users.deletingSince)))
    .get();
}

export async function createOrganization(
  db: Db,
  creator: User,
  input: { name: string; email: string | null },
): Promise<User> {
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
    if (uniqueViolation(err)) throw conflict("The username already exists");
    throw err;
  }
}

/** The strongest role `user` holds in organization `orgName` through its teams, or null. */
export async function organizationRole(db: Db, userId: number, orgName: string): Promise<TeamRole | null> {
  const rows = await db
    .select({ role: teams.role })
    .from(teamMembers)
    .innerJoin(teams, eq(teams.id, teamMembers.teamId))
    .innerJoin(users, eq(users.id, teams.organizationId))
    .where(and(eq(teamMembers.userId, userId), eq(users.username, orgName), eq(users.kind, "organization")))
    .all();
  const roles = rows.map((r) => r.role);
  return roles.includes("admin")
    ? "admin"
    : roles.includes("creator")
      ? "creator"
      : roles.includes("member")
        ? "member"
        : null;
}

/**
 * The role a token may act with: Quay caps a team role by the token's scopes
 * (`auth/permissions.py` SCOPE_MAX_TEAM_ROLES): org:admin keeps it, repo:create caps it at creator,
 * and any other token holds no organization role at all (so a user:read token sees an organization
 * from outside). Browser sessions hold every scope.
 */
export function roleForScopes(role: TeamRole | null, scopes: readonly Scope[]): TeamRole | null {
  if (!role || grants(scopes, "org:admin")) return role;
  if (grants(scopes, "repo:create")) return role === "admin" ? "creator" : role;
  return null;
}

/** Who is looking at an organization: a user and their token's scopes, or nobody (anonymous). */
export type Viewer = { user: User; scopes: readonly Scope[] } | null;

interface TeamSummary {
  id: number;
  name: string;
  description: string;
  role: TeamRole;
  repoCount: number;
  memberCount: number;
}

/** Quay's `get_teams_within_org`: each team with its repository permission and member counts, by id. */
export async function teamsWithCounts(db: Db, orgId: number): Promise<TeamSummary[]> {
  return db
    .select({
      id: teams.id,
      name: teams.name,
      description: teams.description,
      role: teams.role,
      // Table-qualified: drizzle leaves columns unqualified inside sql``, and `id` would be the inner table's.
      repoCount: sql<number>`(select count(*) from repository_permissions rp where rp.team_id = "teams"."id")`,
      memberCount: sql<number>`(select count(*) from team_members tm where tm.team_id = "teams"."id")`,
    })
    .from(teams)
    .where(eq(teams.organizationId, orgId))
    .orderBy(asc(teams.id))
    .all();
}

/**
 * Quay's `org_view`: the public part for anyone; teams (in creation order) for members, where
 * `can_view` says whether the viewer may list a team's members (admins: all; others: their own
 * teams); the email and settings for admins only (others see `""` as Quay's email).
 */
export async function organizationView(db: Db, org: User, viewer: Viewer) {
  const role = viewer ? roleForScopes(await organizationRole(db, viewer.user.id, org.username), viewer.scopes) : null;
  const isAdmin = role === "admin";
  const view: Record<string, unknown> = {
    name: org.username,
    email: isAdmin ? org.email : "",
    // Quay draws an organization's avatar here as a user's (`get_data_for_user`).
    avatar: await avatar(org.username, org.email, "user"),
    is_admin: isAdmin,
    is_member: role !== null,
  };
  if (viewer && role !== null) {
    const all = await teamsWithCounts(db, org.id);
    const own = isAdmin
      ? null
      : new Set(
          await teamIdsOf(
            db,
            viewer.user.id,
            all.map((t) => t.id),
          ),
        );
    const entries = await Promise.all(
      all.map(async (t) => [
        t.name,
        {
          name: t.name,
          description: t.description,
          role: t.role,
          avatar: await avatar(t.name, null, "team"),
          can_view: own === null || own.has(t.id),
          repo_count: t.repoCount,
          member_count: t.memberCount,
          is_synced: false,
        },
      ]),
    );
    view.teams = Object.fromEntries(entries);
    view.ordered_teams = all.map((t) => t.name);
  }
  if (isAdmin) {
    view.invoice_email = org.invoiceEmail;
    view.invoice_email_address = org.invoiceEmailAddress;
    view.tag_expiration_s = org.tagExpirationS;
    view.is_free_account = true;
  }
  return view;
}

async function teamIdsOf(db: Db, userId: number, teamIds: number[]): Promise<number[]> {
  if (teamIds.length === 0) return [];
  const rows = await db
    .select({ id: teamMembers.teamId })
    .from(teamMembers)
    .where(and(eq(teamMembers.userId, userId), inArray(teamMembers.teamId, teamIds)))
    .all();
  return rows.map((r) => r.id);
}

export interface OrganizationChanges {
  email?: string;
  invoiceEmail?: boolean;
  invoiceEmailAddress?: string | null;
  tagExpirationS?: number;
}

/**
 * A namespace's time-machine window must be one of TAG_EXPIRATION_OPTIONS (configuration); any
 * other is Quay's DataModelException, a 400 with `message`.
 */
export function checkTagExpiration(options: readonly number[], seconds: number): void {
  if (!options.includes(seconds)) {
    throw modelError("Invalid tag expiration option");
  }
}

/**
 * Quay's `changeOrganizationDetails`. The email is unique among all accounts ("E-mail address
 * already used"); the time machine window is checked by
 * {@link checkTagExpiration}.
 */
export async function updateOrganization(
  db: Db,
  org: User,
  changes: OrganizationChanges,
  expirationOptions: readonly number[],
): Promise<User> {
  const values: Partial<typeof users.$inferInsert> = {};
  if (changes.tagExpirationS !== undefined) {
    checkTagExpiration(expirationOptions, changes.tagExpirationS);
    values.tagExpirationS = changes.tagExpirationS;
  }
  if (changes.invoiceEmail !== undefined) values.invoiceEmail = changes.invoiceEmail;
  if (changes.invoiceEmailAddress !== undefined) values.invoiceEmailAddress = changes.invoiceEmailAddress;
  if (changes.email !== undefined && changes.email !== org.email) {
    const taken = await db.select({ id: users.id }).from(users).where(eq(users.email, changes.email)).get();
    if (taken) throw conflict("E-mail address already used");
    values.email = changes.email;
  }
  if (Object.keys(values).length === 0) return org;
  try {
    return (await db.update(users).set(values).where(eq(users.id, org.id)).returning().get())!;
  } catch (err) {
    if (uniqueViolation(err)) throw conflict("E-mail address already used");
    throw err;
  }
}

/**
 * The organizations `user` belongs to (any team), as `GET /api/v1/user/` lists them (Quay's
 * `user_view.org_view`), with the token's scopes capping the roles as everywhere else.
 */
export async function userOrganizationsView(db: Db, user: User, scopes: readonly Scope[]) {
  const rows = await db
    .select({ org: users, role: teams.role })
    .from(teamMembers)
    .innerJoin(teams, eq(teams.id, teamMembers.teamId))
    .innerJoin(users, eq(users.id, teams.organizationId))
    .where(and(eq(teamMembers.userId, user.id), isNull(users.deletingSince)))
    .orderBy(asc(users.username))
    .all();
  // One entry per organization, with the strongest role of the user's teams there.
  const best = new Map<string, { org: User; role: TeamRole }>();
  const rank = { member: 1, creator: 2, admin: 3 } as const;
  for (const { org, role } of rows) {
    const known = best.get(org.username);
    if (!known || rank[role] > rank[known.role]) best.set(org.username, { org, role });
  }
  return Promise.all(
    [...best.values()].map(async ({ org, role }) => {
      const scoped = roleForScopes(role, scopes);
      return {
        name: org.username,
        avatar: await avatar(org.username, org.email, "org"),
        can_create_repo: scoped === "admin" || scoped === "creator",
        public: false,
        is_org_admin: scoped === "admin",
        preferred_namespace: false,
      };
    }),
  );
}

/**
 * Organizations whose only administering person is `userId` (robots cannot use the API, so they
 * do not count): deleting that user would leave them with no one to administer them (Quay refuses
 * such a deletion too).
 */
export async function organizationsOnlyOwnedBy(db: Db, userId: number): Promise<string[]> {
  const rows = await db
    .selectDistinct({ name: users.username })
    .from(teams)
    .innerJoin(teamMembers, eq(teamMembers.teamId, teams.id))
    .innerJoin(users, eq(users.id, teams.organizationId))
    .where(
      and(
        eq(teams.role, "admin"),
        eq(teamMembers.userId, userId),
        isNull(users.deletingSince),
        // Table-qualified: an unqualified organization_id would be the subquery's own.
        sql`(select count(distinct m.user_id) from team_members m join teams t on t.id = m.team_id join users u on u.id = m.user_id
              where t.organization_id = "teams"."organization_id" and t.role = 'admin' and u.kind = 'user') = 1`,
      ),
    )
    .all();
  return rows.map((r) => r.name);
}
