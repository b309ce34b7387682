/**
 * Garbage collection of one repository (Quay's tag GC, `garbage_collect_repo`), run by its Durable
 * Object under the lock that pushes, tag writes and restores take (durable-objects/RepositoryDO.ts),
 * so nothing here races a commit of the same repository. Each call is bounded (a few thousand rows,
 * a handful of D1 statements) and reports `more` when a bound cut it short; the caller runs it
 * again. In order:
 * 1. tag rows out of the time machine: ended before now minus the namespace's window
 *    (`tag_expiration_s`); Quay's hidden temporary tags as soon as they end;
 * 2. manifests nothing needs any more: no tag row points at them (alive, temporary, or restorable),
 *    no manifest of the repository lists them as a child, and they are not a referrer whose subject
 *    is still there. Removing an index frees its children and removing a subject its referrers, so
 *    this repeats, within a bound. Their references and labels go with them;
 * 3. the repository's links to blobs none of its manifests references, once both the link and the
 *    blob's last use are older than the grace period (an upload or mount waiting for its manifest);
 * 4. the repository's storage count (src/gc/storage.ts).
 * Blobs themselves, shared across repositories, are src/gc/blobs.ts's; R2 bytes src/gc/r2-sweep.ts's.
 */
import { eq, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { valuesPerStatement } from "../db/chunks";
import { repositories } from "../db/schema";
import { TOMBSTONE_NAMESPACE } from "../registry/repository-deletion";
import { timeMachineWindowMs } from "../registry/tag-writes";
import { batchSql } from "./grace";
import { recountRepository } from "./storage";

export interface RepositoryCollection {
  tagRowsDeleted: number;
  manifestsDeleted: number;
  blobLinksDeleted: number;
  /** True when a bound was reached and another pass has more to do. */
  more: boolean;
}

export interface CollectOptions {
  /** The grace period (src/gc/grace.ts) in milliseconds. */
  graceMs: number;
  /** The name the caller's lock is keyed by: a repository that no longer bears it is left alone. */
  name?: string;
}

/** Tag rows deleted per call (one statement). */
export const TAG_ROWS_PER_PASS = 1000;
/** Manifests deleted per round: their ids are the only parameters the round's deletes bind. */
export const MANIFESTS_PER_ROUND = valuesPerStatement({ perValue: 1 });
/** Rounds per call: an index chain or referrer chain longer than this continues next call. */
const MANIFEST_ROUNDS = 10;
/** Blob links dropped per call (one statement). */
export const BLOB_LINKS_PER_PASS = 1000;

/**
 * Whether manifest `m` (an alias in the enclosing query) is needed by nothing. Quay keeps a
 * manifest while any tag row of the time machine points at it, and a child while its index lives;
 * the referrers API keeps an artifact while its subject lives (distribution-spec "Deleting
 * Manifests" lets registries keep them while the subject is not deleted).
 */
export const unneededManifest = sql.raw(`
  not exists (select 1 from tags t where t.manifest_id = m.id)
  and not exists (
    select 1 from manifest_references r join manifests p on p.id = r.manifest_id
    where r.digest = m.digest and r.kind = 'manifest' and p.repository_id = m.repository_id)
  and (m.subject_digest is null or not exists (
    select 1 from manifests s where s.repository_id = m.repository_id and s.digest = m.subject_digest))`);

/**
 * Whether link `rb` (an alias) names a blob no manifest of its repository references, both the link
 * and the blob's last use being at or before `cutoff`.
 */
export function staleLink(cutoffMs: number) {
  return sql`rb.created_at <= ${cutoffMs}
    and exists (select 1 from blobs b where b.digest = rb.digest and max(b.created_at, b.last_used_at) <= ${cutoffMs})
    and not exists (
      select 1 from manifest_references r join manifests m on m.id = r.manifest_id
      where r.digest = rb.digest and r.kind = 'blob' and m.repository_id = rb.repository_id)`;
}

/** One bounded pass over repository `repositoryId` at time `nowMs`; see the module comment. */
export async function collectRepository(
  db: Db,
  repositoryId: number,
  nowMs: number,
  options: CollectOptions,
): Promise<RepositoryCollection> {
  const result: RepositoryCollection = { tagRowsDeleted: 0, manifestsDeleted: 0, blobLinksDeleted: 0, more: false };
  const repository = await db
    .select({ name: repositories.name, namespace: repositories.namespace })
    .from(repositories)
    .where(eq(repositories.id, repositoryId))
    .get();
  // A deleted repository is its purge's (src/registry/repository-deletion.ts), not ours.
  if (!repository || repository.namespace === TOMBSTONE_NAMESPACE) return result;
  if (options.name !== undefined && repository.name !== options.name) return result;

  result.tagRowsDeleted = await deleteExpiredTagRows(
    db,
    repositoryId,
    nowMs,
    await timeMachineWindowMs(db, repositoryId),
  );
  if (result.tagRowsDeleted === TAG_ROWS_PER_PASS) result.more = true;

  for (let round = 0; round < MANIFEST_ROUNDS; round++) {
    // Another round after any deletion: the manifests just removed may have kept others.
    const deleted = await deleteUnneededManifests(db, repositoryId);
    result.manifestsDeleted += deleted;
    if (deleted === 0) break;
    if (round === MANIFEST_ROUNDS - 1) result.more = true;
  }

  result.blobLinksDeleted = await dropStaleLinks(db, repositoryId, nowMs - options.graceMs);
  if (result.blobLinksDeleted === BLOB_LINKS_PER_PASS) result.more = true;

  await recountRepository(db, repositoryId);
  return result;
}

/**
 * Deletes tag rows that left the time machine: ended at or before `now - window` (restore accepts
 * only rows that ended after it, src/registry/tag-writes.ts), hidden temporary rows once ended.
 */
async function deleteExpiredTagRows(db: Db, repositoryId: number, nowMs: number, windowMs: number): Promise<number> {
  const result = await db.run(sql`
    delete from tags where id in (
      select id from tags
      where repository_id = ${repositoryId} and lifetime_end_ms is not null
        and lifetime_end_ms <= (case when hidden then ${nowMs} else ${nowMs - windowMs} end)
      limit ${TAG_ROWS_PER_PASS})`);
  return result.meta.changes ?? 0;
}

/**
 * One round: up to MANIFESTS_PER_ROUND unneeded manifests of the repository, with their labels and
 * references, children before parents (D1 enforces the foreign keys), in one batch. As in Quay,
 * with a zero window a manifest goes as soon as its last tag row does; one pushed by digest is
 * kept by its temporary tag for the grace period.
 */
async function deleteUnneededManifests(db: Db, repositoryId: number): Promise<number> {
  const rows = await db.all<{ id: number }>(sql`
    select m.id from manifests m where m.repository_id = ${repositoryId} and ${unneededManifest}
    order by m.id limit ${MANIFESTS_PER_ROUND}`);
  if (rows.length === 0) return 0;
  const ids = sql.join(
    rows.map((r) => sql`${r.id}`),
    sql`, `,
  );
  await batchSql(db, [
    sql`delete from manifest_labels where manifest_id in (${ids})`,
    sql`delete from manifest_references where manifest_id in (${ids})`,
    sql`delete from manifests where id in (${ids})`,
  ]);
  return rows.length;
}

/**
 * Drops links to blobs the repository's manifests no longer reference. One statement that
 * re-checks the blob's last use, so a touch by a push (src/registry/blobs.ts) either comes first
 * and keeps the link, or comes after and finds it gone.
 */
async function dropStaleLinks(db: Db, repositoryId: number, cutoffMs: number): Promise<number> {
  const result = await db.run(sql`
    delete from repository_blobs where rowid in (
      select rb.rowid from repository_blobs rb
      where rb.repository_id = ${repositoryId} and ${staleLink(cutoffMs)}
      limit ${BLOB_LINKS_PER_PASS})`);
  return result.meta.changes ?? 0;
}
