/**
 * Which repositories hold a manifest, and the tags that point at it there (Quay
 * `find_manifests_for_sec_notification`, `tag_names_for_manifest` with its TAG_LIMIT of 100): a
 * scan is of a digest, and what it finds is told to each repository holding that digest.
 *
 * The manifests are in the registry core of each repository's namespace, which may be on a shard
 * (docs/sharding-the-registry-core.md): every database is asked and the answers merged
 * ({@link inEveryCore}), a shard's repositories checked against `DB`, the directory.
 */
import { and, asc, eq, inArray, isNull, ne } from "drizzle-orm";
import { database, type Db } from "../db/client";
import { chunksForStatement } from "../db/chunks";
import { manifests, repositories, tags } from "../db/schema";
import { allShardDbs } from "../db/shards";
import type { RepositoryRef } from "../events/envelope";
import { clock } from "../lib/clock";
import { TOMBSTONE_NAMESPACE } from "../registry/repository-deletion";
import { aliveAt } from "../registry/tags";

/** Quay's TAG_LIMIT: the tags a notification names at most. */
const TAG_LIMIT = 100;

export interface Holder {
  digest: string;
  manifestId: number;
  repository: RepositoryRef;
  /** The alive, visible tags pointing at the manifest, by name (100 at most). */
  tags: string[];
}

/**
 * `read` run in every database holding registry cores, its answers merged: `DB`'s as they are,
 * then each shard's whose repository `DB` still has, not deleted, under `DB`'s name for it (a
 * shard's shadow may lag a deletion or a rename: src/db/core-shadows.ts). With no shard, or none
 * answering anything, `DB`'s answer alone, as before sharding.
 */
export async function inEveryCore<T extends { repository: RepositoryRef }>(
  env: Env,
  read: (db: Db) => Promise<T[]>,
  order?: (a: T, b: T) => number,
): Promise<T[]> {
  const [own = [], ...shards] = await Promise.all(allShardDbs(env).map(read));
  const sharded = shards.flat();
  if (sharded.length === 0) return own;
  const live = await liveRepositories(database(env.DB), [...new Set(sharded.map((row) => row.repository.id))]);
  const kept = sharded.flatMap((row) => {
    const name = live.get(row.repository.id);
    return name === undefined ? [] : [{ ...row, repository: { id: row.repository.id, name } }];
  });
  const merged = [...own, ...kept];
  return order ? merged.sort(order) : merged;
}

/** The names `DB` gives the repositories `ids` that it has and that are not deleted. */
async function liveRepositories(db: Db, ids: number[]): Promise<Map<number, string>> {
  const names = new Map<number, string>();
  for (const chunk of chunksForStatement(ids, { perValue: 1, fixed: 1 })) {
    const rows = await db
      .select({ id: repositories.id, name: repositories.name })
      .from(repositories)
      .where(and(inArray(repositories.id, chunk), ne(repositories.namespace, TOMBSTONE_NAMESPACE)))
      .all();
    for (const row of rows) names.set(row.id, row.name);
  }
  return names;
}

/**
 * Every live copy (not deleted by digest, in a repository not deleted) of the manifests `digests`,
 * with their tags, from every database (by repository name within each).
 */
export async function holdersOf(env: Env, digests: readonly string[], nowMs = clock.now()): Promise<Holder[]> {
  // Holders of one database come by repository name; merged from several, they are put back in that order.
  return inEveryCore(env, (db) => holdersIn(db, digests, nowMs), byRepositoryName);
}

const byRepositoryName = (a: Holder, b: Holder) =>
  a.repository.name < b.repository.name ? -1 : a.repository.name > b.repository.name ? 1 : 0;

/** {@link holdersOf} in one database. */
async function holdersIn(db: Db, digests: readonly string[], nowMs: number): Promise<Holder[]> {
  const holders: Holder[] = [];
  for (const chunk of chunksForStatement(digests, { perValue: 1, fixed: 1 })) {
    const rows = await db
      .select({ id: manifests.id, digest: manifests.digest, repositoryId: repositories.id, name: repositories.name })
      .from(manifests)
      .innerJoin(repositories, eq(repositories.id, manifests.repositoryId))
      .where(
        and(
          inArray(manifests.digest, [...chunk]),
          isNull(manifests.deletedAt),
          ne(repositories.namespace, TOMBSTONE_NAMESPACE),
        ),
      )
      .orderBy(asc(repositories.name))
      .all();
    for (const row of rows)
      holders.push({
        digest: row.digest,
        manifestId: row.id,
        repository: { id: row.repositoryId, name: row.name },
        tags: [],
      });
  }
  for (const chunk of chunksForStatement(holders, { perValue: 1, fixed: 2 })) {
    const rows = await db
      .select({ manifestId: tags.manifestId, name: tags.name })
      .from(tags)
      .where(
        and(
          inArray(
            tags.manifestId,
            chunk.map((h) => h.manifestId),
          ),
          eq(tags.hidden, false),
          aliveAt(nowMs),
        ),
      )
      .orderBy(asc(tags.name))
      .all();
    const byManifest = new Map(chunk.map((h) => [h.manifestId, h]));
    for (const row of rows) {
      const holder = byManifest.get(row.manifestId);
      if (holder && holder.tags.length < TAG_LIMIT) holder.tags.push(row.name);
    }
  }
  return holders;
}
