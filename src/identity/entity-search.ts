/**
 * `GET /api/v1/entities/{prefix}` (Quay `endpoints/api/search.py` `EntitySearch`): the people,
 * robots, teams and organizations whose names start with a prefix, for the permission pickers of
 * a UI. People are found by anyone, as in Quay; robots and teams only by whoever Quay lets see
 * them: an organization's robots and teams by its members, a user's robots by that user (with
 * user:admin). A token's scopes cap the organization role as everywhere (./organizations.ts
 * `roleForScopes`).
 */
import { and, asc, eq, gte, inArray, isNull, lt, or, sql, type SQL } from "drizzle-orm";
import type { AnySQLiteColumn } from "drizzle-orm/sqlite-core";
import type { Db } from "../db/client";
import { teamMembers, teams, users, type User } from "../db/schema";
import type { Viewer } from "./organization-views";
import { findOrganization, organizationRole, roleForScopes } from "./organizations";
import { grants } from "./scopes";
import { avatar } from "./users";

/** Quay returns at most ten people and robots, and ten teams. */
const ENTITY_LIMIT = 10;

/**
 * Names starting with `prefix`, as a range on the column (so its index serves it): every name is
 * lower-case ASCII, below U+10FFFF byte for byte.
 */
export function startsWith(column: AnySQLiteColumn, prefix: string): SQL {
  return and(gte(column, prefix), lt(column, `${prefix}\u{10FFFF}`))!;
}

/**
 * Quay's `unidecode(prefix).replace(" ", "").lower()`: accents dropped, spaces removed, lower
 * case. What cannot become ASCII is dropped (no name holds it).
 */
export function normalizedPrefix(prefix: string): string {
  return prefix
    .normalize("NFKD")
    .replace(/[^\x20-\x7e]/g, "")
    .replaceAll(" ", "")
    .toLowerCase();
}

export interface EntityQuery {
  prefix: string;
  /** An organization (its robots and, with includeTeams, its teams) or the caller's own name (their robots). */
  namespace: string;
  includeTeams: boolean;
  includeOrgs: boolean;
}

/** The caller's organization role in `org`, capped by the token's scopes. */
async function standingIn(db: Db, org: User, viewer: Viewer) {
  if (!viewer) return null;
  return roleForScopes(await organizationRole(db, viewer.user.id, org.username), viewer.scopes);
}

/** Which user ids among `ids` are in a team of `org`. */
async function membersAmong(db: Db, org: User, ids: number[]): Promise<Set<number>> {
  if (ids.length === 0) return new Set();
  const rows = await db
    .selectDistinct({ userId: teamMembers.userId })
    .from(teamMembers)
    .innerJoin(teams, eq(teams.id, teamMembers.teamId))
    .where(and(eq(teams.organizationId, org.id), inArray(teamMembers.userId, ids)))
    .all();
  return new Set(rows.map((r) => r.userId));
}

/** People whose names start with `prefix`, and robots of `robotNamespace` whose short names do; an exact person first. */
async function matchingAccounts(db: Db, prefix: string, robotNamespace: string | null) {
  const people = and(eq(users.kind, "user"), startsWith(users.username, prefix));
  const robots = robotNamespace
    ? and(eq(users.kind, "robot"), startsWith(users.username, `${robotNamespace}+${prefix}`))
    : undefined;
  return db
    .select()
    .from(users)
    .where(and(robots ? or(people, robots) : people, isNull(users.deletingSince)))
    .orderBy(sql`case when ${users.username} = ${prefix} then 0 else 1 end`, asc(users.username))
    .limit(ENTITY_LIMIT)
    .all();
}

/** Quay's EntitySearch answer: `{results: [teams…, people and robots…, the organization]}`. */
export async function matchingEntities(db: Db, viewer: Viewer, query: EntityQuery) {
  const prefix = normalizedPrefix(query.prefix);
  const org = query.namespace ? await findOrganization(db, query.namespace) : undefined;
  const role = org ? await standingIn(db, org, viewer) : null;
  let robotNamespace: string | null = null;
  if (org && role) robotNamespace = org.username;
  else if (!org && viewer?.user.username === query.namespace && grants(viewer.scopes, "user:admin"))
    robotNamespace = query.namespace;

  const teamRows =
    org && role && query.includeTeams
      ? await db
          .select({ name: teams.name })
          .from(teams)
          .where(and(eq(teams.organizationId, org.id), startsWith(teams.name, prefix)))
          .orderBy(asc(teams.name))
          .limit(ENTITY_LIMIT)
          .all()
      : [];
  const accounts = await matchingAccounts(db, prefix, robotNamespace);
  // Quay adds `is_org_member` whenever the namespace is an organization; Wharf tells it only to
  // the organization's members (to anyone else it is false), so nobody outside learns who is in.
  const members =
    org && role
      ? await membersAmong(
          db,
          org,
          accounts.map((a) => a.id),
        )
      : new Set<number>();

  const teamResults = await Promise.all(
    teamRows.map(async (t) => ({
      name: t.name,
      kind: "team",
      is_org_member: true,
      avatar: await avatar(t.name, null, "team"),
    })),
  );
  const accountResults = await Promise.all(
    accounts.map(async (account) => {
      const isRobot = account.kind === "robot";
      const view: Record<string, unknown> = {
        name: account.username,
        kind: "user",
        is_robot: isRobot,
        avatar: await avatar(account.username, account.email, isRobot ? "robot" : "user"),
      };
      if (org) view.is_org_member = role !== null && (isRobot || members.has(account.id));
      return view;
    }),
  );
  // Quay's `includeOrgs`: the organization itself, for its members, when its name has the prefix.
  const orgResults =
    org && role && query.includeOrgs && org.username.startsWith(prefix)
      ? [{ name: org.username, kind: "org", is_org_member: true, avatar: await avatar(org.username, org.email, "org") }]
      : [];
  return { results: [...teamResults, ...accountResults, ...orgResults] };
}
