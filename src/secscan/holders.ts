/**
 * Which repositories hold a manifest, and the tags that point at it there (Quay
 * `find_manifests_for_sec_notification`, `tag_names_for_manifest` with its TAG_LIMIT of 100): a
 * scan is of a digest, and what it finds is told to each repository holding that digest.
 */
import { and, asc, eq, inArray, isNull, ne } from "drizzle-orm";
import type { Db } from "../db/client";
import { chunksForStatement } from "../db/chunks";
import { manifests, repositories, tags } from "../db/schema";
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

/** Every live copy (not deleted by digest, in a repository not deleted) of the manifests `digests`, with their tags. */
export async function holdersOf(db: Db, digests: readonly string[], nowMs = clock.now()): Promise<Holder[]> {
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
