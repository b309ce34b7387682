/**
 * Quay's time machine (`endpoints/api/tag.py` restore and expire): a tag's ended lifetimes stay
 * restorable for the namespace's `tag_expiration_s`. Restoring points the tag at a manifest of its
 * history again (`revert_tag`); removing takes lifetimes out of the window at once
 * (`permanently_delete_tag`). Both run under the repository's Durable Object lock, like every tag
 * write (tag-writes.ts), and commit their event with the change.
 */
import { and, eq, gt, isNull, or, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { manifests, repositories, tags, users } from "../db/schema";
import { conflict, notFound } from "../errors/domain";
import type { EventOrigin, RepositoryRef } from "../events/envelope";
import { type Committed, eventStatement } from "../events/outbox";
import type { Digest } from "./reference";
import { repositoryEvent } from "./repository-events";
import { immutableTag, manifestRow } from "./tag-writes";
import { findAliveTag, retargetTagStatements } from "./tags";
import type { WriteClients } from "./core-db";
import { repositoryWriteGuard } from "./write-guard";

/** The repository's namespace's time-machine window (`tag_expiration_s`), in milliseconds. */
export async function timeMachineWindowMs(db: Db, repositoryId: number): Promise<number> {
  const row = await db
    .select({ seconds: users.tagExpirationS })
    .from(repositories)
    .innerJoin(users, eq(users.username, repositories.namespace))
    .where(eq(repositories.id, repositoryId))
    .get();
  return (row?.seconds ?? 0) * 1000;
}

/**
 * Whether a manifest is still in the time machine: some tag row of the repository (alive, hidden
 * temporary, or ended inside the window) points at it. Quay's `require_available`.
 */
async function restorable(
  db: Db,
  repositoryId: number,
  manifestId: number,
  nowMs: number,
  windowMs: number,
): Promise<boolean> {
  const row = await db
    .select({ id: tags.id })
    .from(tags)
    .where(
      and(
        eq(tags.repositoryId, repositoryId),
        eq(tags.manifestId, manifestId),
        or(isNull(tags.lifetimeEndMs), gt(tags.lifetimeEndMs, nowMs - windowMs)),
      ),
    )
    .get();
  return row !== undefined;
}

/**
 * `POST …/tag/{tag}/restore`: points the tag again at a manifest of its history, as a new
 * `reversion` row, if that manifest is still inside the namespace's time-machine window (404 when
 * not). A manifest deleted by digest comes back with it. Restoring to what the tag already
 * points at changes nothing (and emits nothing). The policies are read from `DB`, the rest is the
 * namespace's core.
 */
export async function restoreTag(
  clients: WriteClients,
  repository: RepositoryRef,
  name: string,
  digest: Digest,
  origin: EventOrigin,
  nowMs: number,
): Promise<Committed<null>> {
  const core = clients.core;
  const manifest = await manifestRow(core, repository.id, digest);
  if (!manifest) throw notFound();
  const windowMs = await timeMachineWindowMs(core, repository.id);
  if (!(await restorable(core, repository.id, manifest.id, nowMs, windowMs))) throw notFound();
  const alive = await findAliveTag(core, repository.id, name, nowMs);
  if (alive?.manifestId === manifest.id) return { value: null, events: [] };
  if (alive?.immutable) throw immutableTag(name);
  // A blob DELETE may have unlinked what a manifest deleted by digest needed (issue #12): such a
  // restore would resolve and not pull.
  const lost = await unlinkedBlobOf(core, repository.id, manifest.id);
  if (lost) throw conflict(`Cannot restore ${digest}: its blob ${lost} was deleted from the repository`);
  const data = { tag: name, digest, previousDigest: alive?.digest ?? null };
  const event = repositoryEvent("revert_tag", repository, origin, data, nowMs);
  // A restore points the tag anew, so the immutability policies apply as to any tag move.
  const immutable = (await repositoryWriteGuard(clients.db, repository))?.immutableByPolicy(name) ?? false;
  await core.batch([
    core.update(manifests).set({ deletedAt: null }).where(eq(manifests.id, manifest.id)),
    ...retargetTagStatements(core, repository.id, name, digest, alive, nowMs, { reversion: true, immutable }),
    eventStatement(core, event),
  ]);
  return { value: null, events: [event] };
}

/** A blob the manifest references that the repository no longer links, if any. */
async function unlinkedBlobOf(db: Db, repositoryId: number, manifestId: number): Promise<string | null> {
  const [row] = await db.all<{ digest: string }>(sql`
    select r.digest from manifest_references r
    where r.manifest_id = ${manifestId} and r.kind = 'blob'
      and not exists (select 1 from repository_blobs b where b.repository_id = ${repositoryId} and b.digest = r.digest)
    limit 1`);
  return row?.digest ?? null;
}

/**
 * Quay's `POST …/tag/{tag}/expire` (PERMANENTLY_DELETE_TAGS): removes the tag's rows for one
 * manifest from the time machine, so they can no longer be restored; with `isAlive` the alive row
 * too (it must point at that manifest). Garbage collection then reclaims what nothing else needs.
 * Under the lock nothing else changes these rows, so the rows counted are the rows deleted.
 */
export async function removeFromTimeMachine(
  db: Db,
  repository: RepositoryRef,
  name: string,
  digest: Digest,
  isAlive: boolean,
  origin: EventOrigin,
  nowMs: number,
): Promise<Committed<null>> {
  const manifest = await manifestRow(db, repository.id, digest);
  if (!manifest) throw notFound();
  const alive = await findAliveTag(db, repository.id, name, nowMs);
  if (isAlive && alive?.manifestId !== manifest.id) throw notFound();
  if (isAlive && alive?.immutable) throw immutableTag(name);
  const ofManifest = and(
    eq(tags.repositoryId, repository.id),
    eq(tags.name, name),
    eq(tags.manifestId, manifest.id),
    eq(tags.hidden, false),
  );
  const rows = isAlive
    ? ofManifest
    : and(ofManifest, sql`${tags.lifetimeEndMs} is not null and ${tags.lifetimeEndMs} <= ${nowMs}`);
  const counted = await db.select({ n: sql<number>`count(*)` }).from(tags).where(rows).get();
  if (!counted?.n) throw notFound();
  const data = { tag: name, digest, rows: counted.n };
  const event = repositoryEvent("permanently_delete_tag", repository, origin, data, nowMs);
  await db.batch([db.delete(tags).where(rows), eventStatement(db, event)]);
  return { value: null, events: [event] };
}
