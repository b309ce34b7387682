/**
 * Tags in Quay's lifetime model. Reads run anywhere; the writes here must run inside the
 * repository's Durable Object (durable-objects/RepositoryDO.ts), which orders them.
 */
import { and, asc, eq, gt, isNull, or, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { manifests, tags, type Tag } from "../db/schema";
import { clock } from "../lib/clock";
import type { Digest } from "./reference";

/** Quay: a tag is alive while its end is null or still in the future. */
export function aliveAt(nowMs: number) {
  return or(isNull(tags.lifetimeEndMs), gt(tags.lifetimeEndMs, nowMs));
}

/**
 * The repository's alive, visible tags that are not immutable: those a tag policy acts on (the
 * auto-pruner ends them, an immutability policy marks them).
 */
export function policyTargetTags(repositoryId: number, nowMs: number) {
  return and(eq(tags.repositoryId, repositoryId), aliveAt(nowMs), eq(tags.hidden, false), eq(tags.immutable, false));
}

/** An alive tag's row, with the digest of the manifest it points at (the writes' events name it). */
export type AliveTag = Tag & { digest: Digest };

/** The alive row of tag `name`, with its manifest's digest: one query. */
export async function findAliveTag(
  db: Db,
  repositoryId: number,
  name: string,
  nowMs = clock.now(),
): Promise<AliveTag | undefined> {
  return aliveTagOf(await aliveTagQuery(db, repositoryId, name, nowMs).get());
}

/** {@link findAliveTag}'s read as a query builder (a commit batches it: src/registry/commit-reads.ts). */
export function aliveTagQuery(db: Db, repositoryId: number, name: string, nowMs: number) {
  return db
    .select({ tag: tags, digest: manifests.digest })
    .from(tags)
    .innerJoin(manifests, eq(manifests.id, tags.manifestId))
    .where(and(eq(tags.repositoryId, repositoryId), eq(tags.name, name), aliveAt(nowMs)))
    .limit(1);
}

/** The alive tag an {@link aliveTagQuery} row gives. */
export function aliveTagOf(row: { tag: Tag; digest: string } | undefined): AliveTag | undefined {
  return row && { ...row.tag, digest: row.digest as Digest };
}

/** Names of the alive, visible tags in lexical order after `last`, at most `limit`. */
export async function listTagNames(db: Db, repositoryId: number, limit: number, last?: string): Promise<string[]> {
  const now = clock.now();
  const rows = await db
    .selectDistinct({ name: tags.name })
    .from(tags)
    .where(
      and(
        eq(tags.repositoryId, repositoryId),
        aliveAt(now),
        eq(tags.hidden, false),
        last === undefined ? undefined : gt(tags.name, last),
      ),
    )
    .orderBy(asc(tags.name))
    .limit(limit);
  return rows.map((r) => r.name);
}

/**
 * Ends an alive lifetime now (a delete, a prune): the row stays, restorable inside the
 * time-machine window. Never before its own start, so lifetimes stay ordered.
 */
export function endTagStatement(db: Db, alive: Tag, nowMs: number) {
  return db
    .update(tags)
    .set({ lifetimeEndMs: Math.max(nowMs, alive.lifetimeStartMs) })
    .where(eq(tags.id, alive.id));
}

/** The id of a manifest row, as a sub-select usable inside a batch before the row exists. */
export function manifestIdOf(repositoryId: number, digest: string) {
  return sql`(select ${manifests.id} from ${manifests} where ${manifests.repositoryId} = ${repositoryId} and ${manifests.digest} = ${digest})`;
}

/** What a new lifetime row carries besides its manifest. */
export interface RetargetOptions {
  /** When the new lifetime ends by itself (an expiration), or null. */
  endMs?: number | null;
  /** Quay's `reversion`: the row a restore from the time machine creates. */
  reversion?: boolean;
  /** A hidden row (Quay's temporary tag protecting a manifest pushed by digest). */
  hidden?: boolean;
  /** An immutable row (an immutability policy covers the name: src/registry/immutability-policies.ts). */
  immutable?: boolean;
}

/**
 * The statements that point `name` at a manifest: end the alive row, start a new one. The new
 * lifetime starts strictly after the old one started, so even moves within one millisecond give
 * disjoint, ordered lifetimes.
 */
export function retargetTagStatements(
  db: Db,
  repositoryId: number,
  name: string,
  manifestDigest: string,
  alive: Tag | undefined,
  nowMs: number,
  options: RetargetOptions = {},
) {
  const start = Math.max(nowMs, (alive?.lifetimeStartMs ?? 0) + 1);
  const insert = db.insert(tags).values({
    repositoryId,
    name,
    manifestId: manifestIdOf(repositoryId, manifestDigest),
    lifetimeStartMs: start,
    // An expiration at or before the start would make a row that was never alive.
    lifetimeEndMs: options.endMs == null ? null : Math.max(options.endMs, start + 1),
    reversion: options.reversion ?? false,
    hidden: options.hidden ?? false,
    immutable: options.immutable ?? false,
  });
  if (!alive) return [insert] as const;
  return [db.update(tags).set({ lifetimeEndMs: start }).where(eq(tags.id, alive.id)), insert] as const;
}
