/**
 * Deleting a repository (Quay's `DELETE /api/v1/repository/{repository}`, which marks it for
 * deletion and lets a worker remove it). Two steps:
 * 1. Vanish, at once and through the repository's Durable Object (the lock tag writes take): the
 *    row is renamed to a tombstone (`~deleted/<id>`, a name no client can use), made private, and
 *    its permissions removed, in one batch. Nobody sees it any more and its name is free for the
 *    next push; a push racing the delete fails in the Durable Object instead of writing rows
 *    (`repositoryIsLive`).
 * 2. Purge, in the background (`repository_deleted` on the EVENTS queue): its rows go in bounded
 *    chunks, children first, the repository row last. Blobs and R2 bytes are shared with other
 *    repositories and are left to garbage collection (src/gc/blobs.ts): only this repository's
 *    links to them go.
 */
import { and, eq, isNotNull, sql, type SQL } from "drizzle-orm";
import { batchSql, type Db, sameDatabase } from "../db/client";
import { repositories, repositoryPermissions, users, type Repository } from "../db/schema";
import type { RegistryEvent } from "../events/catalogue";
import type { EventOrigin, RepositoryRef } from "../events/envelope";
import { eventStatement } from "../events/outbox";
import { queueJob } from "../queues/jobs";
import { namespaceRecount } from "../quota/usage";
import { repositoryEvent } from "./repository-events";
import { namespaceOf } from "./repository-name";
import { repositoryObject } from "./repository-object";
import { forgetRepository } from "./pull-cache";
import { clock } from "../lib/clock";
import { loggableError } from "../lib/loggable-error";
import type { WriteClients } from "./core-db";

/** The namespace of deleted repositories awaiting their purge: not a valid username. */
export const TOMBSTONE_NAMESPACE = "~deleted";

export function tombstoneName(id: number): string {
  return `${TOMBSTONE_NAMESPACE}/${id}`;
}

/**
 * The condition, on the `repositories` row in scope, of an abandoned first push: a repository a
 * push created, with no push activity since `before`, no manifest and no tag row, alive or in the
 * time machine (src/gc/empty-repositories.ts; the activity mark: src/registry/repositories.ts).
 */
export function abandonedFirstPush(before: number): SQL {
  return sql`("repositories"."first_push_activity_at" is not null and "repositories"."first_push_activity_at" < ${before}
    and not exists (select 1 from manifests m where m.repository_id = "repositories"."id")
    and not exists (select 1 from tags t where t.repository_id = "repositories"."id"))`;
}

/**
 * Makes repository `id` (still named `name`) vanish, in one batch with its `delete_repo` event;
 * with `abandonedBefore`, only while it is an abandoned first push ({@link abandonedFirstPush}).
 * The permission rows go here, not in the purge: a grant would otherwise keep the tombstone
 * visible to its grantees. Run it under the repository's Durable Object lock
 * (RepositoryDO.deleteRepository). Returns the event, committed in `DB`'s outbox, when the
 * repository vanished; null when it no longer bore `name` (or was no abandoned first push).
 *
 * With the namespace's core on a shard (`clients.core` is not `DB`), `DB`'s batch decides: the
 * rename, the permissions and the event. The shard follows, under the same lock, so no write of
 * the name interleaves: its shadow takes the same tombstone name (GC and the policy marking read
 * the shadow's name: src/gc/repository-gc.ts, tag-immutability.ts), and the namespace's usage,
 * counted there, loses the repository's references. A failure there is logged, not thrown: the
 * repository is gone in `DB`, the authority, and its purge is queued. The shadow then keeps its
 * live name until a new repository of that name ensures its own shadow (which renames the old one
 * to the same tombstone: src/db/core-shadows.ts) or the purge removes it; the usage stays high
 * until the namespace's next recount (src/gc/storage.ts, per shard from the plan's Stage 4).
 *
 * The abandonment is read on the shard, where the first-push mark, the manifests and the
 * tags are, just before `DB`'s batch (with the core in `DB`, in that batch, as one condition). A
 * manifest commits under this lock, but an upload records its activity outside it
 * (src/registry/repositories.ts `recordPushActivity`): one landing between the read and the batch
 * is not seen (the plan's Stage 4 has the upload check for a tombstone).
 */
export async function vanishRepository(
  clients: WriteClients,
  repository: RepositoryRef,
  origin: EventOrigin,
  abandonedBefore?: number,
): Promise<RegistryEvent | null> {
  const { db, core } = clients;
  const { id, name } = repository;
  const namespace = namespaceOf(name);
  const coreInDb = sameDatabase(db, core);
  const abandoned = abandonedBefore === undefined ? undefined : abandonedFirstPush(abandonedBefore);
  if (abandoned && !coreInDb) {
    const shadow = await core
      .select({ id: repositories.id })
      .from(repositories)
      .where(and(eq(repositories.id, id), eq(repositories.name, name), abandoned))
      .get();
    if (!shadow) return null;
  }
  const event = repositoryEvent("delete_repo", repository, origin, {});
  // With the core on a shard, `DB`'s mark is the one the API clears when it makes the repository
  // deliberate (a description, a visibility: src/registry/repositories.ts), never a push's: it
  // must still be there, in the batch, so such a change just before this one keeps the repository.
  const pushMade = abandoned && !coreInDb ? isNotNull(repositories.firstPushActivityAt) : undefined;
  const live = and(eq(repositories.id, id), eq(repositories.name, name), coreInDb ? abandoned : pushMade);
  // The event first, on the rename's own condition: it is written exactly when the rename happens.
  const [, renamed] = await batchSql(db, [
    eventStatement(db, event, { onlyIf: sql`exists (select 1 from ${repositories} where ${live})` }).getSQL(),
    db
      .update(repositories)
      .set({ name: tombstoneName(id), namespace: TOMBSTONE_NAMESPACE, visibility: "private" })
      .where(live)
      .returning({ id: repositories.id })
      .getSQL(),
    db
      .delete(repositoryPermissions)
      .where(
        and(
          eq(repositoryPermissions.repositoryId, id),
          sql`exists (select 1 from ${repositories} where id = ${id} and name = ${tombstoneName(id)})`,
        ),
      )
      .getSQL(),
    // The repository's references leave its namespace's usage with it (src/quota/usage.ts).
    ...(coreInDb ? [namespaceRecount(namespace)] : []),
  ]);
  if (renamed!.results.length === 0) return null;
  if (!coreInDb) await vanishShadow(core, repository);
  return event;
}

/** The shard's half of a vanish (see {@link vanishRepository}): the shadow's tombstone, the usage recount. */
async function vanishShadow(core: Db, repository: RepositoryRef): Promise<void> {
  const { id, name } = repository;
  try {
    await batchSql(core, [
      sql`update ${repositories} set name = ${tombstoneName(id)}, namespace = ${TOMBSTONE_NAMESPACE}
        where id = ${id} and name = ${name}`,
      namespaceRecount(namespaceOf(name)),
    ]);
  } catch (err) {
    console.error(
      JSON.stringify({ msg: "shadow of a deleted repository not renamed", repositoryId: id, err: loggableError(err) }),
    );
  }
}

/**
 * Deletes `repository`: it vanishes now, and its purge is queued. False when it had already gone
 * (a concurrent delete), or, with `abandonedBefore`, when it is no abandoned first push any more
 * ({@link abandonedFirstPush}, re-checked under the repository's lock). If the queue refuses the
 * job the tombstone stays, invisible, until a sweep ({@link tombstonedRepositoryIds}) purges it.
 */
export async function deleteRepository(
  env: Env,
  repository: Pick<Repository, "id" | "name">,
  origin: EventOrigin,
  options: { abandonedBefore?: number } = {},
): Promise<boolean> {
  const stub = repositoryObject(env, repository.name);
  const ref = { id: repository.id, name: repository.name };
  if (!(await stub.deleteRepository(ref, origin, options.abandonedBefore))) return false;
  // Cached pull facts under the name go at once here; elsewhere within FACT_TTL (pull-cache.ts).
  await forgetRepository(repository.name);
  await queueJob(env, {
    type: "repository_deleted",
    repository: repository.name,
    repositoryId: repository.id,
    at: clock.now(),
  });
  return true;
}

/** Ids of deleted repositories whose rows are not purged yet. */
export async function tombstonedRepositoryIds(db: Db, limit = 100): Promise<number[]> {
  const rows = await db
    .select({ id: repositories.id })
    .from(repositories)
    .where(eq(repositories.namespace, TOMBSTONE_NAMESPACE))
    .limit(limit)
    .all();
  return rows.map((r) => r.id);
}

/** Rows deleted per statement: small enough for one D1 statement's time limit at any size. */
export const PURGE_CHUNK = 1000;

/** One purge step: deletes at most PURGE_CHUNK rows of repository `id` from one table. */
type PurgeStep = (id: number) => SQL;

/**
 * The steps over the registry core's tables (docs/sharding-the-registry-core.md §0), children
 * before parents (D1 enforces foreign keys). On a core shard these are all the repository's rows
 * besides its shadow; in `DB` they run first among {@link PURGE_STEPS}.
 */
const CORE_STEPS: PurgeStep[] = [
  (id) => sql`delete from tags where id in (select id from tags where repository_id = ${id} limit ${PURGE_CHUNK})`,
  (id) =>
    sql`delete from manifest_references where rowid in (select r.rowid from manifest_references r join manifests m on m.id = r.manifest_id where m.repository_id = ${id} limit ${PURGE_CHUNK})`,
  (id) =>
    sql`delete from manifest_labels where rowid in (select l.rowid from manifest_labels l join manifests m on m.id = l.manifest_id where m.repository_id = ${id} limit ${PURGE_CHUNK})`,
  (id) =>
    sql`delete from manifests where id in (select id from manifests where repository_id = ${id} limit ${PURGE_CHUNK})`,
  (id) =>
    sql`delete from repository_blobs where rowid in (select rowid from repository_blobs where repository_id = ${id} limit ${PURGE_CHUNK})`,
  // One row per tag and per manifest ever pulled: bounded here rather than by the row's cascade.
  (id) =>
    sql`delete from tag_pull_stats where rowid in (select rowid from tag_pull_stats where repository_id = ${id} limit ${PURGE_CHUNK})`,
  (id) =>
    sql`delete from manifest_pull_stats where rowid in (select rowid from manifest_pull_stats where repository_id = ${id} limit ${PURGE_CHUNK})`,
  // Cascaded by the repository row's delete in a purge; a move keeps that row (src/registry/core-moves.ts).
  (id) =>
    sql`delete from repository_pull_stats where rowid in (select rowid from repository_pull_stats where repository_id = ${id} limit ${PURGE_CHUNK})`,
];

/**
 * Deletes repository `repositoryId`'s registry-core rows from `db`, its repository row (or shadow)
 * kept: what a move of its namespace's core leaves behind (src/registry/core-moves.ts). At most
 * `maxStatements` full chunks; call again while `done` is false.
 */
export function purgeCoreRows(db: Db, repositoryId: number, maxStatements: number): Promise<PurgeResult> {
  return runSteps(db, CORE_STEPS, repositoryId, { left: Math.max(1, maxStatements) });
}

/**
 * The purge steps in `DB`, children before parents. Each deletes at most PURGE_CHUNK rows of
 * repository `id` and is run until it deletes fewer.
 */
const PURGE_STEPS: PurgeStep[] = [
  ...CORE_STEPS,
  (id) =>
    sql`delete from repository_stars where rowid in (select rowid from repository_stars where repository_id = ${id} limit ${PURGE_CHUNK})`,
  (id) =>
    sql`delete from repository_permissions where id in (select id from repository_permissions where repository_id = ${id} limit ${PURGE_CHUNK})`,
  // Repository notifications (src/notifications/): the tags each expiry notification announced, then the rest.
  (id) =>
    sql`delete from notification_expiry_notices where rowid in (select x.rowid from notification_expiry_notices x join repository_notifications n on n.uuid = x.notification_uuid where n.repository_id = ${id} limit ${PURGE_CHUNK})`,
  (id) =>
    sql`delete from repository_notifications where rowid in (select rowid from repository_notifications where repository_id = ${id} limit ${PURGE_CHUNK})`,
  (id) =>
    sql`delete from repository_authorized_emails where rowid in (select rowid from repository_authorized_emails where repository_id = ${id} limit ${PURGE_CHUNK})`,
];

export interface PurgeResult {
  /** True when every row is gone, the repository row included. */
  done: boolean;
  /** Rows deleted by this call. */
  deleted: number;
}

/**
 * Removes the rows of repository `repositoryId` in bounded chunks: at most `maxStatements` full
 * chunks per call, plus one closing statement per table (call again while `done` is false). Only
 * a repository that can no longer be reached is purged: a tombstone, or one whose namespace is
 * being deleted (organization deletion reuses this); for any other it does nothing, so a stray or
 * replayed message never loses data. `DB`'s row decides, whatever a shard's shadow says.
 *
 * `databases` is every database, `DB` first (src/db/shards.ts `allShardDbs`); one client is `DB`
 * alone. A namespace's core may be on a shard (the plan's §5, purge): each shard holding the
 * repository's shadow loses its core rows, then the shadow; `DB`'s rows go after, its repository
 * row last. The shards are found by the shadow's id (global: §3), since a tombstone's row no longer
 * names its namespace, and a shard holding none costs one lookup. A failure midway throws and
 * leaves `DB`'s row, so the job's retry, or the sweep (src/gc/deletions.ts) that finds the
 * tombstone again, resumes where it stopped.
 * Idempotent: rows a racing writer adds between chunks are picked up by the next call.
 */
export async function purgeRepository(
  databases: Db | readonly Db[],
  repositoryId: number,
  options: { maxStatements?: number } = {},
): Promise<PurgeResult> {
  const [db, ...shards] = Array.isArray(databases) ? databases : [databases as Db];
  const budget = { left: Math.max(1, options.maxStatements ?? 100) };
  const row = await db!
    .select({ namespace: repositories.namespace, deletingSince: users.deletingSince })
    .from(repositories)
    .leftJoin(users, eq(users.username, repositories.namespace))
    .where(eq(repositories.id, repositoryId))
    .get();
  if (!row) return { done: true, deleted: 0 };
  if (row.namespace !== TOMBSTONE_NAMESPACE && row.deletingSince == null) {
    console.error(JSON.stringify({ msg: "purge refused: repository is live", repositoryId }));
    return { done: true, deleted: 0 };
  }
  let deleted = 0;
  for (const shard of shards) {
    const shadow = await shard.get(sql`select 1 as found from ${repositories} where id = ${repositoryId}`);
    if (!shadow) continue;
    const step = await runSteps(shard, CORE_STEPS, repositoryId, budget);
    deleted += step.deleted;
    if (!step.done) return { done: false, deleted };
    deleted += (await shard.run(sql`delete from ${repositories} where id = ${repositoryId}`)).meta.changes ?? 0;
  }
  const step = await runSteps(db!, PURGE_STEPS, repositoryId, budget);
  deleted += step.deleted;
  if (!step.done) return { done: false, deleted };
  const gone = (await db!.run(sql`delete from ${repositories} where id = ${repositoryId}`)).meta.changes ?? 0;
  return { done: true, deleted: deleted + gone };
}

/** Runs `steps` in order on `db`, each until it deletes less than a chunk, within `budget`. */
async function runSteps(
  db: Db,
  steps: readonly PurgeStep[],
  repositoryId: number,
  budget: { left: number },
): Promise<PurgeResult> {
  let deleted = 0;
  for (const step of steps) {
    for (;;) {
      const changes = (await db.run(step(repositoryId))).meta.changes ?? 0;
      deleted += changes;
      if (changes < PURGE_CHUNK) break;
      // Only full chunks count: each call then makes progress, and finishes a step it starts
      // with at most one more (partial or empty) statement per step.
      if (--budget.left <= 0) return { done: false, deleted };
    }
  }
  return { done: true, deleted };
}
