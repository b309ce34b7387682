/**
 * Empty repositories a push left behind (issue #12, item 7g). A first push creates its repository
 * before anything is uploaded; when the upload is abandoned, or a mount falls back to an upload
 * nobody finishes, the repository stays empty for good. Such a repository is deleted once no push
 * has worked on it for UPLOAD_EXPIRY_SECONDS (plus the mark's refresh interval): every upload of it
 * has then been aborted by its alarm (the argument beside PUSH_ACTIVITY_REFRESH_MS in
 * src/registry/repositories.ts). Repositories created through the API, or that ever held a
 * manifest, carry no mark and are kept however empty, as Quay keeps them.
 *
 * Deletion is the ordinary one (src/registry/repository-deletion.ts): under the repository's
 * Durable Object lock, in one statement that re-checks the whole condition, then the queued purge
 * and its event; so a push that starts as the collector decides either marks the repository
 * first (and it is kept) or finds its name free and creates it afresh.
 *
 * A namespace whose core is on a shard (docs/sharding-the-registry-core.md, Stage 4) keeps the
 * live mark on the shard's shadow: pushes refresh and commits clear that one, and `DB`'s copy keeps
 * its creation time for good. So `DB` is scanned for the namespaces whose core is there, and each
 * shard for its own; a shard's candidate must still bear its name in `DB` and keep a mark there
 * (the API clears `DB`'s when it describes the repository or sets its visibility, which makes it
 * deliberate), and RepositoryDO.deleteRepository evaluates the abandonment on the shard under the
 * lock (src/registry/repository-deletion.ts `vanishRepository`).
 */
import { and, isNotNull, ne, sql } from "drizzle-orm";
import { readConfig } from "../config";
import { database, type Db } from "../db/client";
import { repositories } from "../db/schema";
import { allShards, type Shard } from "../db/shards";
import { systemOrigin } from "../events/envelope";
import { PUSH_ACTIVITY_REFRESH_MS } from "../registry/repositories";
import { abandonedFirstPush, deleteRepository, TOMBSTONE_NAMESPACE } from "../registry/repository-deletion";

/** Repositories deleted per run at most; the next run takes the rest. */
const BATCH = 50;

/** Pushes that have not touched their repository since this time have no upload alive. */
export function abandonedBefore(nowMs: number, uploadExpirySeconds: number): number {
  return nowMs - uploadExpirySeconds * 1000 - PUSH_ACTIVITY_REFRESH_MS;
}

/**
 * A condition on `repositories` in `DB`: its namespace's core is on a shard, whose shadow has the
 * mark that counts ({@link collectEmptyRepositories}).
 */
const coreOnShard = sql`exists (select 1 from users u join namespace_shards s on s.namespace_id = u.id
  where u.username = "repositories"."namespace" and s.core_shard is not null)`;

/**
 * Repositories that look abandoned at `before` in `db` (the partial index on the mark finds them).
 * With `exceptSharded`, `db` is `DB` and repositories whose core is on a shard are left out.
 */
export async function abandonedRepositories(
  db: Db,
  before: number,
  limit = BATCH,
  exceptSharded = false,
): Promise<{ id: number; name: string }[]> {
  return db
    .select({ id: repositories.id, name: repositories.name })
    .from(repositories)
    .where(
      and(
        abandonedFirstPush(before),
        ne(repositories.namespace, TOMBSTONE_NAMESPACE),
        exceptSharded ? sql`not ${coreOnShard}` : undefined,
      ),
    )
    .limit(limit)
    .all();
}

/**
 * Of a shard's candidates (its shadows), those `DB` still names so and still marks as a push's
 * (not made deliberate through the API), with `DB`'s name.
 */
async function confirmedInDirectory(
  db: Db,
  candidates: { id: number; name: string }[],
): Promise<{ id: number; name: string }[]> {
  if (candidates.length === 0) return [];
  const rows = await db
    .select({ id: repositories.id, name: repositories.name })
    .from(repositories)
    .where(
      and(
        sql`${repositories.id} in (select value from json_each(${JSON.stringify(candidates.map((c) => c.id))}))`,
        ne(repositories.namespace, TOMBSTONE_NAMESPACE),
        isNotNull(repositories.firstPushActivityAt),
      ),
    )
    .all();
  const names = new Map(candidates.map((c) => [c.id, c.name]));
  return rows.filter((r) => names.get(r.id) === r.name);
}

/**
 * One bounded pass at `nowMs` over database `shard` (`DB` for number 0): deletes the abandoned
 * repositories whose mark it holds. The scheduler runs it per database, so an unreachable shard
 * fails its own pass only.
 */
export async function collectEmptyRepositoriesOn(
  env: Env,
  db: Db,
  shard: Shard,
  nowMs: number,
): Promise<{ deleted: number }> {
  const before = abandonedBefore(nowMs, readConfig(env).UPLOAD_EXPIRY_SECONDS);
  const found =
    shard.number === 0
      ? await abandonedRepositories(db, before, BATCH, allShards(env).length > 1)
      : await confirmedInDirectory(db, await abandonedRepositories(database(shard.binding), before));
  let deleted = 0;
  for (const repository of found) {
    if (await deleteRepository(env, repository, systemOrigin("gc"), { abandonedBefore: before })) deleted++;
  }
  return { deleted };
}

/** {@link collectEmptyRepositoriesOn} for every database in turn. */
export async function collectEmptyRepositories(env: Env, db: Db, nowMs: number): Promise<{ deleted: number }> {
  let deleted = 0;
  for (const shard of allShards(env)) deleted += (await collectEmptyRepositoriesOn(env, db, shard, nowMs)).deleted;
  return { deleted };
}
