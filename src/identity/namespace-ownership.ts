/**
 * What a superuser may do to any organization (Quay `endpoints/api/superuser.py`,
 * `superuser_models_pre_oci.py`): rename one, and take a namespace
 * (`takeOwnership`): join an organization's `owners` team, or convert a user into an organization
 * the superuser owns. Deleting one reuses ./namespace-deletion.ts.
 */
import { and, eq, inArray, isNull, sql } from "drizzle-orm";
import type { Db, Statement } from "../db/client";
import { repositories, robotAccounts, teamMembers, teams, users, type User } from "../db/schema";
import { conflict, invalid, notFound } from "../errors/domain";
import type { EventScope } from "../events/outbox";
import { commitWithEvents, conditionalEvent, namespaceEvent, written } from "./account-events";
import { organizationConversion } from "./account-conversion";
import { OWNERS_TEAM, findOrganization } from "./organizations";
import { ensureAvailable, uniqueViolation } from "./users";

/**
 * Renames organization `org` to `newName` (Quay's `change_organization_name`), its robots
 * (`org+bot` becomes `new+bot`) with it, in one batch with its `org_change_name` event.
 *
 * Differs from Quay: an organization that holds repositories (live ones, or deleted ones not yet
 * purged) is not renamed. A repository's name begins with its namespace's and names its
 * Durable Object, its events and every client's configuration; Quay renames the namespace under
 * them, Wharf refuses rather than move them.
 */
export async function renameOrganization(db: Db, org: User, newName: string, events: EventScope): Promise<User> {
  if (newName === org.username) return org;
  const held = await db
    .select({ id: repositories.id })
    .from(repositories)
    .where(eq(repositories.namespace, org.username))
    .limit(1)
    .get();
  if (held) throw invalid("Cannot rename an organization that holds repositories");
  await ensureAvailable(db, newName, null);
  const robotIds = db
    .select({ id: robotAccounts.userId })
    .from(robotAccounts)
    .where(eq(robotAccounts.namespaceId, org.id));
  const event = namespaceEvent("org_change_name", newName, events.origin, { oldName: org.username, newName });
  const live = and(eq(users.id, org.id), eq(users.username, org.username), isNull(users.deletingSince));
  try {
    const [row] = await db.batch([
      conditionalEvent(db, event, sql`exists (select 1 from ${users} where ${live})`),
      // Robots first, while the organization's row still has its old name for the condition.
      db
        .update(users)
        .set({ username: sql`${newName} || substr(${users.username}, ${org.username.length + 1})` })
        .where(
          // Every robot of the organization is named `<org>+<short>` (./robots.ts).
          and(
            inArray(users.id, robotIds),
            sql`exists (select 1 from ${users} u where u.id = ${org.id} and u.username = ${org.username})`,
          ),
        ),
      db.update(users).set({ username: newName }).where(live),
    ]);
    if (written(row)) events.publish([event]);
  } catch (err) {
    if (uniqueViolation(err)) throw conflict("The username already exists");
    throw err;
  }
  const renamed = await findOrganization(db, newName);
  if (!renamed) throw notFound();
  return renamed;
}

/**
 * `takeOwnership`: `superuser` joins organization `namespace`'s owners team, or user `namespace`
 * becomes an organization that `superuser` owns (./account-conversion.ts `organizationConversion`,
 * the user's own conversion's writes). One batch with the `take_ownership` event in the superuser's namespace. Returns
 * whether the namespace was a user; not found for robots and namespaces being deleted.
 */
export async function takeOwnership(
  db: Db,
  superuser: User,
  namespace: User | undefined,
  events: EventScope,
): Promise<{ wasUser: boolean }> {
  if (!namespace || namespace.kind === "robot" || namespace.deletingSince !== null) throw notFound();
  const wasUser = namespace.kind === "user";
  const event = namespaceEvent("take_ownership", superuser.username, events.origin, {
    namespace: namespace.username,
    entityId: namespace.id,
    wasUser,
  });
  const ownersTeam = sql`(select id from ${teams} where organization_id = ${namespace.id} and name = ${OWNERS_TEAM})`;
  const join = db.insert(teamMembers).values({ teamId: ownersTeam, userId: superuser.id }).onConflictDoNothing();
  if (!wasUser) {
    await commitWithEvents(db, events, [join], [event]);
    return { wasUser };
  }
  const person = and(eq(users.id, namespace.id), eq(users.kind, "user"), isNull(users.deletingSince));
  const statements: Statement[] = [
    conditionalEvent(db, event, sql`exists (select 1 from ${users} where ${person})`),
    ...organizationConversion(db, namespace.id, superuser.id),
  ];
  const [row] = await db.batch(statements as [Statement, ...Statement[]]);
  if (!written(row)) throw notFound();
  events.publish([event]);
  return { wasUser };
}
