/**
 * The tag API's writes (Quay `endpoints/api/tag.py`): create or move a tag, set or clear its
 * expiration, mark it immutable, delete it, restore it from the time machine, remove it from the
 * time machine. Each runs inside the repository's Durable Object (durable-objects/RepositoryDO.ts),
 * which orders it against pushes and garbage collection of the same repository; none knows HTTP.
 * Refusals are domain errors (src/errors/domain.ts) in Quay's words, which /api/v1 renders as its JSON.
 */
import { and, eq, gt, isNull, or, sql } from "drizzle-orm";
import { conflict, invalid, notFound } from "../errors/domain";
import type { Db } from "../db/client";
import { manifests, repositories, tags, users, type Tag } from "../db/schema";
import type { Digest } from "./reference";
import { endTagStatement, findAliveTag, retargetTagStatements } from "./tags";

export interface TagChange {
  manifestDigest?: Digest;
  /** Unix milliseconds, or null to clear; absent leaves it. */
  expirationMs?: number | null;
  immutable?: boolean;
}

export interface TagLimits {
  /** The furthest an expiration may lie ahead (MAXIMUM_TAG_EXPIRATION), in milliseconds. */
  maxExpirationMs: number;
}

const immutableRefusal = (name: string) =>
  conflict(`Tag ${name} is immutable: an administrator must make it mutable before it can be changed`);

/** The repository's manifest row for `digest`, deleted by digest or not. */
async function manifestRow(db: Db, repositoryId: number, digest: Digest) {
  return db
    .select({ id: manifests.id, deletedAt: manifests.deletedAt })
    .from(manifests)
    .where(and(eq(manifests.repositoryId, repositoryId), eq(manifests.digest, digest)))
    .get();
}

/**
 * `PUT …/tag/{tag}`. With `manifestDigest`, points the tag at a manifest of the repository (404
 * when it has none by that digest), creating or moving it; then, with `expirationMs`, sets the
 * alive tag's end (a future time within the allowed range) or clears it; with `immutable`,
 * (un)marks it. Quay requires the tag to exist for an expiration change (404 otherwise).
 */
export async function putTag(
  db: Db,
  repositoryId: number,
  name: string,
  change: TagChange,
  limits: TagLimits,
  nowMs: number,
): Promise<{ created: boolean; moved: boolean }> {
  let alive = await findAliveTag(db, repositoryId, name, nowMs);
  let created = false;
  let moved = false;
  if (change.manifestDigest !== undefined) {
    // A manifest deleted by digest comes back only through a restore.
    const manifest = await manifestRow(db, repositoryId, change.manifestDigest);
    if (!manifest || manifest.deletedAt !== null) throw notFound();
    if (alive?.manifestId !== manifest.id) {
      if (alive?.immutable) throw immutableRefusal(name);
      await db.batch(retargetTagStatements(db, repositoryId, name, change.manifestDigest, alive, nowMs));
      created = alive === undefined;
      moved = !created;
      alive = await findAliveTag(db, repositoryId, name, nowMs);
    }
  }
  if (change.expirationMs !== undefined || change.immutable !== undefined) {
    if (!alive) throw notFound();
    const values: Partial<Tag> = {};
    if (change.immutable !== undefined) values.immutable = change.immutable;
    if (change.expirationMs !== undefined) {
      if ((change.immutable ?? alive.immutable) && change.expirationMs !== null) {
        throw conflict(`Tag ${name} is immutable: it cannot expire`);
      }
      values.lifetimeEndMs = checkedExpiration(change.expirationMs, limits, nowMs);
    }
    await db.update(tags).set(values).where(eq(tags.id, alive.id));
  }
  return { created, moved };
}

/** Quay: an expiration must lie in the future; Wharf also bounds how far (MAXIMUM_TAG_EXPIRATION). */
function checkedExpiration(expirationMs: number | null, limits: TagLimits, nowMs: number): number | null {
  if (expirationMs === null) return null;
  if (expirationMs <= nowMs) throw invalid("Expiration must be in the future");
  if (expirationMs > nowMs + limits.maxExpirationMs) {
    throw invalid(`Expiration may be at most ${Math.floor(limits.maxExpirationMs / 1000)} seconds in the future`);
  }
  return expirationMs;
}

/** `DELETE …/tag/{tag}`: ends the alive tag now; it stays restorable inside the window. */
export async function deleteTag(db: Db, repositoryId: number, name: string, nowMs: number): Promise<void> {
  const alive = await findAliveTag(db, repositoryId, name, nowMs);
  if (!alive || alive.hidden) throw notFound();
  if (alive.immutable) throw immutableRefusal(name);
  await endTagStatement(db, alive, nowMs);
}

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
 * points at changes nothing.
 */
export async function restoreTag(
  db: Db,
  repositoryId: number,
  name: string,
  digest: Digest,
  nowMs: number,
): Promise<void> {
  const manifest = await manifestRow(db, repositoryId, digest);
  if (!manifest) throw notFound();
  if (!(await restorable(db, repositoryId, manifest.id, nowMs, await timeMachineWindowMs(db, repositoryId))))
    throw notFound();
  const alive = await findAliveTag(db, repositoryId, name, nowMs);
  if (alive?.manifestId === manifest.id) return;
  if (alive?.immutable) throw immutableRefusal(name);
  // A blob DELETE may have unlinked what a manifest deleted by digest needed (issue #12): such a
  // restore would resolve and not pull.
  const lost = await unlinkedBlobOf(db, repositoryId, manifest.id);
  if (lost) throw conflict(`Cannot restore ${digest}: its blob ${lost} was deleted from the repository`);
  await db.batch([
    db.update(manifests).set({ deletedAt: null }).where(eq(manifests.id, manifest.id)),
    ...retargetTagStatements(db, repositoryId, name, digest, alive, nowMs, { reversion: true }),
  ]);
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
 */
export async function removeFromTimeMachine(
  db: Db,
  repositoryId: number,
  name: string,
  digest: Digest,
  isAlive: boolean,
  nowMs: number,
): Promise<void> {
  const manifest = await manifestRow(db, repositoryId, digest);
  if (!manifest) throw notFound();
  const alive = await findAliveTag(db, repositoryId, name, nowMs);
  if (isAlive && alive?.manifestId !== manifest.id) throw notFound();
  if (isAlive && alive?.immutable) throw immutableRefusal(name);
  const ended = and(
    eq(tags.repositoryId, repositoryId),
    eq(tags.name, name),
    eq(tags.manifestId, manifest.id),
    eq(tags.hidden, false),
  );
  const rows = isAlive
    ? ended
    : and(ended, sql`${tags.lifetimeEndMs} is not null and ${tags.lifetimeEndMs} <= ${nowMs}`);
  const removed = await db.delete(tags).where(rows).returning({ id: tags.id });
  if (removed.length === 0) throw notFound();
}

/**
 * Ends the alive, mutable, visible tags among `names` (auto-prune); immutable ones are kept, as
 * Quay's pruner skips them. Returns the names ended.
 */
export async function endTags(db: Db, repositoryId: number, names: string[], nowMs: number): Promise<string[]> {
  const ended: string[] = [];
  for (const name of names) {
    const alive = await findAliveTag(db, repositoryId, name, nowMs);
    if (!alive || alive.immutable || alive.hidden) continue;
    await endTagStatement(db, alive, nowMs);
    ended.push(name);
  }
  return ended;
}
