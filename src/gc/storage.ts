/**
 * Storage accounting for quotas (Quay's `QuotaRepositorySize` / `QuotaNamespaceSize`): the bytes a
 * repository and a namespace hold, as garbage collection leaves them. A repository counts each
 * distinct blob its remaining manifests reference once, plus its manifests' own bytes; a namespace
 * counts each blob and each manifest digest once however many of its repositories hold it, since
 * R2 holds it once. Manifests deleted by digest but still in the time machine count: they still
 * hold their bytes. Quay, too, counts what garbage collection has not reclaimed yet.
 *
 * Each count is one statement whose cost follows the size of that one repository or namespace
 * (indexed lookups by repository, then by manifest), never the registry's; the rolling pass
 * recounts a bounded number of them per run.
 *
 * A namespace whose registry core is on a shard (docs/sharding-the-registry-core.md) is counted
 * there, where its manifests and blob rows are: into the shard's shadow rows (`users` and
 * `repositories`.storage_bytes, src/db/core-shadows.ts), which pushes and garbage collection keep
 * exact and quota enforcement reads. The plan's open question 3, decided here: `DB`'s own copies
 * of such a namespace's counts are a cache, overwritten with the shard's count at each recount
 * (within a round of this pass), for the listings that sort or sum usage across namespaces in
 * `DB`. Nothing decides with them; a reader of one namespace's usage reads the shadow. The pass
 * also copies the namespace's `tag_expiration_s` the other way, `DB` to shadow: the cron repair
 * of a missed copy (the plan's §5).
 */
import { and, asc, gt, inArray, isNull, ne, sql } from "drizzle-orm";
import { database, type Db, sameDatabase } from "../db/client";
import { coreShardOf } from "../db/core-shards";
import { repositories, users } from "../db/schema";
import { namespaceRecount } from "../quota/usage";
import { TOMBSTONE_NAMESPACE } from "../registry/repository-deletion";
import { readCursor, writeCursor } from "./grace";

/** Recounts `repositories.storage_bytes` of one repository. */
export async function recountRepository(db: Db, repositoryId: number): Promise<void> {
  await db.run(sql`
    update repositories set storage_bytes =
      coalesce((select sum(b.size) from blobs b where b.digest in (
        select r.digest from manifest_references r join manifests m on m.id = r.manifest_id
        where m.repository_id = ${repositoryId} and r.kind = 'blob')), 0)
      + coalesce((select sum(size) from manifests where repository_id = ${repositoryId}), 0)
    where id = ${repositoryId}`);
}

/** Recounts `users.storage_bytes` of namespace `namespace` (a user or organization name). */
export async function recountNamespace(db: Db, namespace: string): Promise<void> {
  await db.run(namespaceRecount(namespace));
}

/** The database holding a namespace's core (`DB` itself when the core is there). */
export type CoreOf = (namespace: string) => Promise<Db>;

/** {@link CoreOf} from the directory (src/db/core-shards.ts). */
export function coresOf(env: Env): CoreOf {
  return async (namespace) => database((await coreShardOf(env, namespace)).binding);
}

export interface RecountResult {
  repositories: number;
  namespaces: number;
}

/**
 * The rolling recount: the next `limit` repositories and namespaces after the saved cursors (in
 * `db`, `DB`). Pushes and garbage collection keep both counts exact as they commit
 * (src/quota/usage.ts); this repairs counts from before that accounting or changed outside it,
 * within a few runs. Each is counted on its namespace's core (`coreOf`; `DB` by default), and a
 * shard's count is copied to `DB`'s row (the module comment).
 */
export async function recountStorage(db: Db, limit = 50, coreOf: CoreOf = async () => db): Promise<RecountResult> {
  const repoCursor = Number((await readCursor(db, "storage:repositories")) ?? 0);
  const repos = await db
    .select({ id: repositories.id, namespace: repositories.namespace })
    .from(repositories)
    .where(and(gt(repositories.id, repoCursor), ne(repositories.namespace, TOMBSTONE_NAMESPACE)))
    .orderBy(asc(repositories.id))
    .limit(limit)
    .all();
  for (const { id, namespace } of repos) {
    const core = await coreOf(namespace);
    await recountRepository(core, id);
    if (!sameDatabase(core, db)) await copyCount(core, db, "repositories", id);
  }
  await writeCursor(db, "storage:repositories", repos.length < limit ? null : String(repos.at(-1)!.id));

  const nsCursor = Number((await readCursor(db, "storage:namespaces")) ?? 0);
  const namespaces = await db
    .select({ id: users.id, username: users.username, tagExpirationS: users.tagExpirationS })
    .from(users)
    .where(and(gt(users.id, nsCursor), inArray(users.kind, ["user", "organization"]), isNull(users.deletingSince)))
    .orderBy(asc(users.id))
    .limit(limit)
    .all();
  for (const { id, username, tagExpirationS } of namespaces) {
    const core = await coreOf(username);
    await recountNamespace(core, username);
    if (sameDatabase(core, db)) continue;
    await copyCount(core, db, "users", id);
    // The repair of a missed copy of the namespace's time-machine window (src/events/subscribers.ts).
    await core.run(sql`update users set tag_expiration_s = ${tagExpirationS} where id = ${id}`);
  }
  await writeCursor(db, "storage:namespaces", namespaces.length < limit ? null : String(namespaces.at(-1)!.id));
  return { repositories: repos.length, namespaces: namespaces.length };
}

/**
 * Copies `storage_bytes` of row `id` of `table` from a shard's shadow to `DB`'s row; a shadow not
 * made yet (nothing of it was written to the shard) leaves `DB`'s row alone.
 */
async function copyCount(shard: Db, primary: Db, table: "users" | "repositories", id: number): Promise<void> {
  const name = sql.raw(table);
  const row = await shard.get<{ bytes: number } | undefined>(
    sql`select storage_bytes as bytes from ${name} where id = ${id}`,
  );
  if (row) await primary.run(sql`update ${name} set storage_bytes = ${row.bytes} where id = ${id}`);
}
