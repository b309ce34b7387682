/**
 * Deleting an organization (Quay's `DELETE /api/v1/organization/{orgname}`, which schedules the
 * namespace for deletion and lets a worker remove it). Two steps:
 * 1. Hide, at once: `deletingSince` is set, after which nothing finds the organization, its
 *    repositories grant nothing and list nowhere (src/identity/permissions.ts), its robots cannot
 *    log in, and its name stays taken until the purge ends.
 * 2. Purge, in the background (`organization_deleted` on the EVENTS queue), a bounded amount per
 *    message: its repositories (through the repository purge, which accepts repositories of a
 *    namespace being deleted), the tokens its OAuth applications minted, its robots, and last the
 *    organization row, whose teams, memberships, invitations, prototypes and applications go with
 *    it by cascade. R2 bytes are left to garbage collection (a later issue).
 */
import { and, eq, inArray, isNull, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { accessTokens, oauthApplications, repositories, users, type User } from "../db/schema";
import type { RegistryEvent } from "../queues/events";
import { purgeRepository } from "../registry/repository-deletion";
import { deleteRobotsOf } from "./robots";

/** Repositories purged per message; each purge itself is bounded (repository-deletion.ts). */
const REPOSITORIES_PER_STEP = 10;

/**
 * Hides `org` and queues its purge. False when it was already being deleted. If the queue refuses
 * the event, the organization stays hidden and the next DELETE (answered 404) cannot re-queue it:
 * the error is logged for an operator, as for repositories.
 */
export async function deleteOrganization(db: Db, env: Env, org: User): Promise<boolean> {
  const marked = await db
    .update(users)
    .set({ deletingSince: Date.now() })
    .where(and(eq(users.id, org.id), eq(users.kind, "organization"), isNull(users.deletingSince)))
    .returning({ id: users.id });
  if (marked.length === 0) return false;
  const event: RegistryEvent = { type: "organization_deleted", organization: org.username, organizationId: org.id, at: Date.now() };
  try {
    await env.EVENTS.send(event);
  } catch (err) {
    console.error(JSON.stringify({ msg: "organization purge not queued", event, err: String(err) }));
  }
  return true;
}

/**
 * One bounded step of the purge of organization `organizationId`; call again while `done` is
 * false. Only an organization marked for deletion is purged: a stray or replayed message for a
 * live one does nothing.
 */
export async function purgeOrganization(db: Db, organizationId: number): Promise<{ done: boolean }> {
  const org = await db.select().from(users).where(eq(users.id, organizationId)).get();
  if (!org) return { done: true };
  if (org.kind !== "organization" || org.deletingSince === null) {
    console.error(JSON.stringify({ msg: "purge refused: organization is live", organizationId }));
    return { done: true };
  }
  const batch = await db
    .select({ id: repositories.id })
    .from(repositories)
    .where(eq(repositories.namespace, org.username))
    .limit(REPOSITORIES_PER_STEP)
    .all();
  for (const { id } of batch) {
    if (!(await purgeRepository(db, id)).done) return { done: false };
  }
  if (batch.length === REPOSITORIES_PER_STEP) return { done: false };
  const applications = db.select({ id: oauthApplications.id }).from(oauthApplications).where(eq(oauthApplications.organizationId, org.id));
  await db.batch([
    // Tokens minted through its applications carry no foreign key to them.
    db.delete(accessTokens).where(inArray(accessTokens.applicationId, applications)),
    deleteRobotsOf(db, org.id),
    db.delete(users).where(and(eq(users.id, org.id), sql`${users.deletingSince} is not null`)),
  ]);
  return { done: true };
}
