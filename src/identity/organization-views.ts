/**
 * How organizations look through Quay's API (`endpoints/api/organization.py` `org_view`, and the
 * organizations `GET /api/v1/user/` lists), by who is looking: ./organizations.ts holds the
 * organizations themselves.
 */
import { and, asc, eq, inArray, isNull, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { teamMembers, teams, users, type User } from "../db/schema";
import { organizationRole, roleForScopes, type TeamRole } from "./organizations";
import type { Scope } from "./scopes";
import { avatar } from "./users";
import { namespaceQuotaFields, type QuotaSettings } from "../quota/quota-views";

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
export async function organizationView(db: Db, org: User, viewer: Viewer, quotas?: QuotaSettings) {
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
  // Quay adds the quota and its report for members and admins, with FEATURE_QUOTA_MANAGEMENT.
  if (quotas && role !== null) Object.assign(view, await namespaceQuotaFields(db, org, quotas));
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
