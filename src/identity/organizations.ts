/**
 * Organizations (Quay `data/model/organization.py`, `endpoints/api/organization.py`): namespaces
 * owned by teams. Creating one makes its `owners` team (role admin) with the creator in it, in one
 * D1 batch, with its `org_create` event. Teams themselves are in ./teams.ts; members and collaborators
 * in ./organization-members.ts; how an organization looks to whom in ./organization-views.ts.
 * An organization being deleted (`deletingSince` set) is hidden at once: it is found by nothing here.
 */
import { and, eq, isNull, sql } from "drizzle-orm";
import { conflict, modelError } from "../errors/domain";
import type { Db } from "../db/client";
import { teamMembers, teams, users, type User } from "../db/schema";
import type { RegistryEvent } from "../events/catalogue";
import type { EventScope } from "../events/outbox";
import { commitWithEvents, namespaceEvent } from "./account-events";
import { grants, type Scope } from "./scopes";
import { ensureAvailable, uniqueViolation } from "./users";

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
  events: EventScope,
): Promise<User> {
  await ensureAvailable(db, input.name, input.email);
  const orgId = sql`(select id from ${users} where username = ${input.name} and kind = 'organization')`;
  const event = namespaceEvent("org_create", input.name, events.origin, { email: input.email });
  // One batch (one transaction): the rows refer to each other through subqueries on the new name.
  // A lost race on the name (two creations at once) answers as the check before it does.
  try {
    await commitWithEvents(
      db,
      events,
      [
        db.insert(users).values({ username: input.name, email: input.email, kind: "organization" }),
        db.insert(teams).values({ organizationId: orgId, name: OWNERS_TEAM, role: "admin" }),
        db.insert(teamMembers).values({
          teamId: sql`(select id from ${teams} where organization_id = ${orgId} and name = ${OWNERS_TEAM})`,
          userId: creator.id,
        }),
      ],
      [event],
    );
  } catch (err) {
    if (uniqueViolation(err)) throw conflict("The username already exists");
    throw err;
  }
  return (await findOrganization(db, input.name))!;
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
  events: EventScope,
): Promise<User> {
  // Only what differs is written, each change with its event (Quay's kinds, one per setting).
  const values: Partial<typeof users.$inferInsert> = {};
  const changed: RegistryEvent[] = [];
  if (changes.tagExpirationS !== undefined) {
    checkTagExpiration(expirationOptions, changes.tagExpirationS);
    if (changes.tagExpirationS !== org.tagExpirationS) {
      values.tagExpirationS = changes.tagExpirationS;
      changed.push(
        namespaceEvent("org_change_tag_expiration", org.username, events.origin, {
          tagExpirationS: changes.tagExpirationS,
        }),
      );
    }
  }
  const invoiceEmail = changes.invoiceEmail ?? org.invoiceEmail;
  const invoiceEmailAddress =
    changes.invoiceEmailAddress === undefined ? org.invoiceEmailAddress : changes.invoiceEmailAddress;
  if (invoiceEmail !== org.invoiceEmail || invoiceEmailAddress !== org.invoiceEmailAddress) {
    Object.assign(values, { invoiceEmail, invoiceEmailAddress });
    changed.push(
      namespaceEvent("org_change_invoicing", org.username, events.origin, { invoiceEmail, invoiceEmailAddress }),
    );
  }
  if (changes.email !== undefined && changes.email !== org.email) {
    const taken = await db.select({ id: users.id }).from(users).where(eq(users.email, changes.email)).get();
    if (taken) throw conflict("E-mail address already used");
    values.email = changes.email;
    changed.push(namespaceEvent("org_change_email", org.username, events.origin, { email: changes.email }));
  }
  if (changed.length === 0) return org;
  try {
    const update = db.update(users).set(values).where(eq(users.id, org.id)).returning();
    const [updated] = (await commitWithEvents(db, events, [update], changed)) as User[][];
    return updated![0]!;
  } catch (err) {
    if (uniqueViolation(err)) throw conflict("E-mail address already used");
    throw err;
  }
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
