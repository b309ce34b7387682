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
 * 4. the repository's storage count (src/gc/storage.ts); the namespace's falls with step 2, in
 *    the batch that deletes the manifests (src/quota/usage.ts).
 * Each removal commits with its event (docs/events.md, "Garbage collection"): one per batch, so a
 * summary per repository and pass (`gc_tag_rows_deleted`, `gc_manifests_deleted` per round,
 * `gc_blob_links_deleted`), never one per row.
 * Blobs themselves, shared across repositories, are src/gc/blobs.ts's; R2 bytes src/gc/r2-sweep.ts's.
 */
import { eq, sql } from "drizzle-orm";
import { batchSql, type Db } from "../db/client";
import { valuesPerStatement } from "../db/chunks";
import { repositories } from "../db/schema";
import type { RegistryEvent } from "../events/catalogue";
import { type RepositoryRef, systemOrigin } from "../events/envelope";
import { type Committed, eventStatement } from "../events/outbox";
import type { Digest } from "../registry/reference";
import { repositoryEvent } from "../registry/repository-events";
import { TOMBSTONE_NAMESPACE } from "../registry/repository-deletion";
import { timeMachineWindowMs } from "../registry/time-machine";
import { dischargeStatement } from "../quota/usage";
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

const GC = systemOrigin("gc");

/** One bounded pass over repository `repositoryId` at time `nowMs`; see the module comment. */
export async function collectRepository(
  db: Db,
  repositoryId: number,
  nowMs: number,
  options: CollectOptions,
): Promise<Committed<RepositoryCollection>> {
  const result: RepositoryCollection = { tagRowsDeleted: 0, manifestsDeleted: 0, blobLinksDeleted: 0, more: false };
  const events: RegistryEvent[] = [];
  const row = await db
    .select({ name: repositories.name, namespace: repositories.namespace })
    .from(repositories)
    .where(eq(repositories.id, repositoryId))
    .get();
  // A deleted repository is its purge's (src/registry/repository-deletion.ts), not ours.
  if (!row || row.namespace === TOMBSTONE_NAMESPACE) return { value: result, events };
  if (options.name !== undefined && row.name !== options.name) return { value: result, events };
  const repository = { id: repositoryId, name: row.name };
  const collected = (removal: { count: number; event: RegistryEvent | null }) => {
    if (removal.event) events.push(removal.event);
    return removal.count;
  };

  const window = await timeMachineWindowMs(db, repositoryId);
  result.tagRowsDeleted = collected(await deleteExpiredTagRows(db, repository, nowMs, window));
  if (result.tagRowsDeleted === TAG_ROWS_PER_PASS) result.more = true;

  for (let round = 0; round < MANIFEST_ROUNDS; round++) {
    // Another round after any deletion: the manifests just removed may have kept others.
    const deleted = collected(await deleteUnneededManifests(db, repository, row.namespace, nowMs));
    result.manifestsDeleted += deleted;
    if (deleted === 0) break;
    if (round === MANIFEST_ROUNDS - 1) result.more = true;
  }

  result.blobLinksDeleted = collected(await dropStaleLinks(db, repository, nowMs, nowMs - options.graceMs));
  if (result.blobLinksDeleted === BLOB_LINKS_PER_PASS) result.more = true;

  await recountRepository(db, repositoryId);
  return { value: result, events };
}

/** What one removal deleted, and its event (null when it deleted nothing). */
interface Removal {
  count: number;
  event: RegistryEvent | null;
}

/** Tag names a `gc_tag_rows_deleted` event lists at most. */
const LISTED_TAGS = 100;

/**
 * Deletes tag rows that left the time machine: ended at or before `now - window` (restore accepts
 * only rows that ended after it, src/registry/time-machine.ts), hidden temporary rows once ended.
 * Under the repository's lock no other writer touches these rows, so the rows read are the rows
 * the batch deletes.
 */
async function deleteExpiredTagRows(
  db: Db,
  repository: RepositoryRef,
  nowMs: number,
  windowMs: number,
): Promise<Removal> {
  const rows = await db.all<{ id: number; name: string; hidden: number }>(sql`
    select id, name, hidden from tags
    where repository_id = ${repository.id} and lifetime_end_ms is not null
      and lifetime_end_ms <= (case when hidden then ${nowMs} else ${nowMs - windowMs} end)
    limit ${TAG_ROWS_PER_PASS}`);
  if (rows.length === 0) return { count: 0, event: null };
  // Hidden temporary tags ($temp-…) are no names anyone gave; they count, unnamed.
  const names = [...new Set(rows.filter((r) => !r.hidden).map((r) => r.name))].sort().slice(0, LISTED_TAGS);
  const data = { rows: rows.length, tags: names };
  const event = repositoryEvent("gc_tag_rows_deleted", repository, GC, data, nowMs);
  await batchSql(db, [
    sql`delete from tags where id in (select value from json_each(${JSON.stringify(rows.map((r) => r.id))}))`,
    eventStatement(db, event).getSQL(),
  ]);
  return { count: rows.length, event };
}

/**
 * One round: up to MANIFESTS_PER_ROUND unneeded manifests of the repository, with their labels and
 * references, children before parents (D1 enforces the foreign keys), in one batch with their
 * event, and the namespace's usage lowered by what only they held (src/quota/usage.ts). As in
 * Quay, with a zero window a manifest goes as soon as its last tag row does; one
 * pushed by digest is kept by its temporary tag for the grace period.
 */
async function deleteUnneededManifests(
  db: Db,
  repository: RepositoryRef,
  namespace: string,
  nowMs: number,
): Promise<Removal> {
  const rows = await db.all<{ id: number; digest: string }>(sql`
    select m.id, m.digest from manifests m where m.repository_id = ${repository.id} and ${unneededManifest}
    order by m.id limit ${MANIFESTS_PER_ROUND}`);
  if (rows.length === 0) return { count: 0, event: null };
  const ids = sql.join(
    rows.map((r) => sql`${r.id}`),
    sql`, `,
  );
  const digests = rows.map((r) => r.digest as Digest);
  const event = repositoryEvent("gc_manifests_deleted", repository, GC, { digests }, nowMs);
  await batchSql(db, [
    // First: what only these manifests held in the namespace leaves its usage with them.
    dischargeStatement(
      namespace,
      rows.map((r) => r.id),
    ),
    sql`delete from manifest_labels where manifest_id in (${ids})`,
    sql`delete from manifest_references where manifest_id in (${ids})`,
    sql`delete from manifests where id in (${ids})`,
    eventStatement(db, event).getSQL(),
  ]);
  return { count: rows.length, event };
}

/**
 * Drops links to blobs the repository's manifests no longer reference. The links to drop are
 * chosen in the batch itself: a push may touch a blob (src/registry/blobs.ts) at any moment, not
 * under this lock, so the batch re-checks the blob's last use, and a touch either comes first and
 * keeps the link, or comes after and finds it gone. The event is written first, on the same
 * choice, with the digests it finds: those the delete then removes.
 */
async function dropStaleLinks(db: Db, repository: RepositoryRef, nowMs: number, cutoffMs: number): Promise<Removal> {
  const chosen = sql`select rb.rowid as link, rb.digest as digest from repository_blobs rb
    where rb.repository_id = ${repository.id} and ${staleLink(cutoffMs)}
    order by rb.rowid limit ${BLOB_LINKS_PER_PASS}`;
  const event = repositoryEvent("gc_blob_links_deleted", repository, GC, { digests: [] }, nowMs);
  const written = eventStatement(db, event, {
    onlyIf: sql`exists (${chosen})`,
    computed: {
      "$.data.digests": sql`(select json_group_array(digest) from (select digest from (${chosen}) order by digest))`,
    },
  });
  const [, deleted] = await batchSql(db, [
    written.getSQL(),
    sql`delete from repository_blobs where rowid in (select link from (${chosen})) returning digest`,
  ]);
  const digests = (deleted!.results as { digest: Digest }[]).map((r) => r.digest).sort();
  if (digests.length === 0) return { count: 0, event: null };
  return { count: digests.length, event: { ...event, data: { digests } } };
}
