/**
 * Tag writes, each written once for every surface that offers it: create or move a tag, set or
 * clear its expiration, (un)mark it immutable (Quay `endpoints/api/tag.py` `PUT …/tag/{tag}`), and
 * end it (the API's and /v2's deletes, auto-prune). Restores and removals from the time machine are
 * in time-machine.ts. Each runs under the repository's Durable Object lock
 * (durable-objects/RepositoryDO.ts), ordered against pushes and garbage collection of the same
 * repository; each commits its change with its event (src/events/, docs/events.md) in one batch and
 * returns the events committed. Refusals are domain errors, rendered by the surface that asked.
 */
import { and, eq } from "drizzle-orm";
import type { Db, Statement } from "../db/client";
import { runBatch } from "../db/client";
import { manifests, type Tag, tags } from "../db/schema";
import { conflict, DomainError, invalid, notFound } from "../errors/domain";
import type { RegistryEvent } from "../events/catalogue";
import type { EventOrigin, RepositoryRef } from "../events/envelope";
import { type Committed, eventStatement } from "../events/outbox";
import type { Digest } from "./reference";
import { repositoryEvent } from "./repository-events";
import type { WriteClients } from "./core-db";
import { repositoryWriteGuard } from "./write-guard";
import { type AliveTag, endTagStatement, findAliveTag, retargetTagStatements } from "./tags";

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

/**
 * An immutable tag refuses to change (Quay's FEATURE_IMMUTABLE_TAGS): /v2 answers DENIED with the
 * facts in `detail`, /api/v1 Quay's 400 with this sentence.
 */
export function immutableTag(name: string): DomainError {
  return new DomainError("conflict", {
    subject: "tag",
    message: `Tag ${name} is immutable: an administrator must make it mutable before it can be changed`,
    detail: { tag: name, reason: "the tag is immutable" },
  });
}

/** The repository's manifest row for `digest`, deleted by digest or not. */
export async function manifestRow(db: Db, repositoryId: number, digest: Digest) {
  return db
    .select({ id: manifests.id, deletedAt: manifests.deletedAt })
    .from(manifests)
    .where(and(eq(manifests.repositoryId, repositoryId), eq(manifests.digest, digest)))
    .get();
}

/**
 * `PUT …/tag/{tag}`. With `manifestDigest`, points the tag at a manifest of the repository (404
 * when it has none by that digest), creating or moving it (`create_tag`, `move_tag`); then, with
 * `expirationMs`, sets the alive tag's end (a future time within the allowed range) or clears it
 * (`change_tag_expiration`); with `immutable`, (un)marks it (`change_tag_immutability`). Quay
 * requires the tag to exist for an expiration change (404 otherwise). Two commits at most: the
 * move, then the attributes (one statement, with an event per attribute changed). The policies
 * are read from `DB`, the tags and their events are the namespace's core.
 */
export async function putTag(
  clients: WriteClients,
  repository: RepositoryRef,
  name: string,
  change: TagChange,
  limits: TagLimits,
  origin: EventOrigin,
  nowMs: number,
): Promise<Committed<{ created: boolean; moved: boolean }>> {
  const core = clients.core;
  let alive = await findAliveTag(core, repository.id, name, nowMs);
  const events: RegistryEvent[] = [];
  let created = false;
  let moved = false;
  if (change.manifestDigest !== undefined) {
    const digest = change.manifestDigest;
    // A manifest deleted by digest comes back only through a restore.
    const manifest = await manifestRow(core, repository.id, digest);
    if (!manifest || manifest.deletedAt !== null) throw notFound();
    if (alive?.manifestId !== manifest.id) {
      if (alive?.immutable) throw immutableTag(name);
      const event = alive
        ? repositoryEvent("move_tag", repository, origin, { tag: name, digest, previousDigest: alive.digest }, nowMs)
        : repositoryEvent("create_tag", repository, origin, { tag: name, digest }, nowMs);
      // Quay evaluates the immutability policies whenever a tag is created or moved.
      const immutable = (await repositoryWriteGuard(clients.db, repository))?.immutableByPolicy(name) ?? false;
      await core.batch([
        ...retargetTagStatements(core, repository.id, name, digest, alive, nowMs, { immutable }),
        eventStatement(core, event),
      ]);
      events.push(event);
      created = alive === undefined;
      moved = !created;
      alive = await findAliveTag(core, repository.id, name, nowMs);
    }
  }
  if (change.expirationMs !== undefined || change.immutable !== undefined) {
    if (!alive) throw notFound();
    events.push(...(await changeAttributes(core, repository, alive, change, limits, origin, nowMs)));
  }
  return { value: { created, moved }, events };
}

/** Sets the alive tag's expiration and immutability in one statement, with an event for each. */
async function changeAttributes(
  db: Db,
  repository: RepositoryRef,
  alive: AliveTag,
  change: TagChange,
  limits: TagLimits,
  origin: EventOrigin,
  nowMs: number,
): Promise<RegistryEvent[]> {
  const tagged = { tag: alive.name, digest: alive.digest };
  const values: Partial<Tag> = {};
  const events: RegistryEvent[] = [];
  if (change.immutable !== undefined) {
    values.immutable = change.immutable;
    const data = { ...tagged, immutable: change.immutable };
    events.push(repositoryEvent("change_tag_immutability", repository, origin, data, nowMs));
  }
  if (change.expirationMs !== undefined) {
    if ((change.immutable ?? alive.immutable) && change.expirationMs !== null) {
      throw conflict(`Tag ${alive.name} is immutable: it cannot expire`);
    }
    values.lifetimeEndMs = checkedExpiration(change.expirationMs, limits, nowMs);
    const data = { ...tagged, expiration: values.lifetimeEndMs, previousExpiration: alive.lifetimeEndMs };
    events.push(repositoryEvent("change_tag_expiration", repository, origin, data, nowMs));
  }
  await db.batch([
    db.update(tags).set(values).where(eq(tags.id, alive.id)),
    ...events.map((event) => eventStatement(db, event)),
  ]);
  return events;
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

/** Ends an alive tag now (it stays restorable inside the window): its statements and its event. */
function ending(
  db: Db,
  repository: RepositoryRef,
  alive: AliveTag,
  kind: "delete_tag" | "autoprune_tag_delete",
  origin: EventOrigin,
  nowMs: number,
): { statements: Statement[]; event: RegistryEvent } {
  const data = { tag: alive.name, digest: alive.digest };
  const event: RegistryEvent =
    kind === "delete_tag"
      ? repositoryEvent("delete_tag", repository, origin, data, nowMs)
      : repositoryEvent("autoprune_tag_delete", repository, origin, data, nowMs);
  return { statements: [endTagStatement(db, alive, nowMs), eventStatement(db, event)], event };
}

/**
 * Deletes a tag (`DELETE /api/v1/repository/{repo}/tag/{tag}`, `DELETE /v2/<name>/manifests/<tag>`):
 * ends its alive lifetime now (`delete_tag`); it stays restorable inside the time-machine window.
 * Not found when no visible tag of that name is alive (/v2: MANIFEST_UNKNOWN naming the tag).
 */
export async function deleteTag(
  db: Db,
  repository: RepositoryRef,
  name: string,
  origin: EventOrigin,
  nowMs: number,
): Promise<Committed<null>> {
  const alive = await findAliveTag(db, repository.id, name, nowMs);
  if (!alive || alive.hidden) throw notFound("manifest", { tag: name });
  if (alive.immutable) throw immutableTag(name);
  const { statements, event } = ending(db, repository, alive, "delete_tag", origin, nowMs);
  await runBatch(db, statements);
  return { value: null, events: [event] };
}

/**
 * Auto-prune: ends the alive, mutable, visible tags among `names` (`autoprune_tag_delete` each), in
 * one batch; immutable ones are kept, as Quay's pruner skips them. Returns the names ended.
 */
export async function endTags(
  db: Db,
  repository: RepositoryRef,
  names: string[],
  origin: EventOrigin,
  nowMs: number,
): Promise<Committed<string[]>> {
  const statements: Statement[] = [];
  const events: RegistryEvent[] = [];
  const ended: string[] = [];
  for (const name of new Set(names)) {
    const alive = await findAliveTag(db, repository.id, name, nowMs);
    if (!alive || alive.immutable || alive.hidden) continue;
    const end = ending(db, repository, alive, "autoprune_tag_delete", origin, nowMs);
    statements.push(...end.statements);
    events.push(end.event);
    ended.push(name);
  }
  await runBatch(db, statements);
  return { value: ended, events };
}
