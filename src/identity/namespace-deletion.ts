/**
 * Deleting a namespace: an organization (Quay's `DELETE /api/v1/organization/{orgname}`) or a user
 * (`DELETE /api/v1/superuser/users/{username}`). Quay marks the namespace and lets a worker remove
 * it; so does Wharf, in two steps:
 * 1. Hide, at once, in one batch: `deletingSince` is set (and a user disabled), the namespace's
 *    robots go, and a user's tokens and sessions. From then on nothing finds the namespace, its
 *    repositories grant and list nothing (src/identity/permissions.ts), and its name stays taken.
 * 2. Purge, in the background (`namespace_deleted` on the EVENTS queue), a bounded amount per
 *    message: its repositories (through the repository purge, which accepts repositories of a
 *    namespace being deleted), the tokens an organization's OAuth applications minted, and last the
 *    namespace's row, whose teams, memberships, invitations, prototypes, applications and grants go
 *    with it by cascade. Only then is the name free. R2 bytes are left to garbage collection.
 */
import { and, eq, inArray, isNull, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { accessTokens, oauthApplications, repositories, sessions, users, type User } from "../db/schema";
import type { EventScope } from "../events/outbox";
import { queueJob } from "../queues/jobs";
import { purgeRepository } from "../registry/repository-deletion";
import { forgetNamespace } from "../registry/pull-cache";
import { conditionalEvent, namespaceEvent, written } from "./account-events";
import { deleteRobotsOf } from "./robots";
import { clock } from "../lib/clock";

/** Repositories purged per message; each purge itself is bounded (repository-deletion.ts). */
const REPOSITORIES_PER_STEP = 10;

/**
 * Hides `namespace` (a user or an organization) and queues its purge, with its `user_delete` or
 * `org_delete` event (the robots, tokens, its applications' tokens and sessions that go with it
 * are part of that one change). False when it was already being deleted. If the queue refuses the purge job the
 * namespace stays hidden, and the error is logged for an operator, as for repositories.
 */
export async function deleteNamespace(db: Db, env: Env, namespace: User, events: EventScope): Promise<boolean> {
  const live = and(
    eq(users.id, namespace.id),
    inArray(users.kind, ["user", "organization"]),
    isNull(users.deletingSince),
  );
  const kind = namespace.kind === "organization" ? "org_delete" : "user_delete";
  const applications = db
    .select({ id: oauthApplications.id })
    .from(oauthApplications)
    .where(eq(oauthApplications.organizationId, namespace.id));
  const event = namespaceEvent(kind, namespace.username, events.origin, {});
  // The event first, on the mark's own condition: it is written exactly when the mark is.
  const [row] = await db.batch([
    conditionalEvent(db, event, sql`exists (select 1 from ${users} where ${live})`),
    db.update(users).set({ deletingSince: clock.now(), enabled: false }).where(live),
    deleteRobotsOf(db, namespace.id),
    db.delete(accessTokens).where(eq(accessTokens.userId, namespace.id)),
    // The tokens its applications hold for people end now too: their holders can no longer see
    // them (./oauth-authorizations.ts hides a deleted organization's applications) to revoke them.
    db.delete(accessTokens).where(inArray(accessTokens.applicationId, applications)),
    db.delete(sessions).where(eq(sessions.userId, namespace.id)),
  ]);
  if (!written(row)) return false;
  // Its repositories' cached pull facts go at once here; elsewhere within FACT_TTL (pull-cache.ts).
  await forgetNamespace(namespace.username);
  events.publish([event]);
  await queueJob(env, {
    type: "namespace_deleted",
    namespace: namespace.username,
    namespaceId: namespace.id,
    at: clock.now(),
  });
  return true;
}

/**
 * One bounded step of the purge of namespace `namespaceId`; call again while `done` is false. Only
 * a namespace marked for deletion is purged: a stray or replayed message for a live one does
 * nothing.
 */
export async function purgeNamespace(databases: Db | readonly Db[], namespaceId: number): Promise<{ done: boolean }> {
  // Every database, `DB` first: each repository's core rows may be on a shard (purgeRepository).
  const db = Array.isArray(databases) ? databases[0]! : (databases as Db);
  const namespace = await db.select().from(users).where(eq(users.id, namespaceId)).get();
  if (!namespace) return { done: true };
  if (namespace.kind === "robot" || namespace.deletingSince === null) {
    console.error(JSON.stringify({ msg: "purge refused: namespace is live", namespaceId }));
    return { done: true };
  }
  const batch = await db
    .select({ id: repositories.id })
    .from(repositories)
    .where(eq(repositories.namespace, namespace.username))
    .limit(REPOSITORIES_PER_STEP)
    .all();
  for (const { id } of batch) {
    if (!(await purgeRepository(databases, id)).done) return { done: false };
  }
  if (batch.length === REPOSITORIES_PER_STEP) return { done: false };
  // The namespace's shadow on a core shard (src/db/core-shadows.ts), its repositories' gone: before
  // `DB`'s row, which decides, so a failure here leaves the namespace to be purged again.
  if (Array.isArray(databases))
    for (const shard of databases.slice(1)) await shard.run(sql`delete from ${users} where id = ${namespace.id}`);
  const applications = db
    .select({ id: oauthApplications.id })
    .from(oauthApplications)
    .where(eq(oauthApplications.organizationId, namespace.id));
  await db.batch([
    // Tokens minted through an organization's applications carry no foreign key to them.
    db.delete(accessTokens).where(inArray(accessTokens.applicationId, applications)),
    deleteRobotsOf(db, namespace.id),
    db.delete(users).where(and(eq(users.id, namespace.id), sql`${users.deletingSince} is not null`)),
  ]);
  return { done: true };
}
