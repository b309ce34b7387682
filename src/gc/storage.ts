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
 */
import { and, asc, gt, inArray, isNull, ne, sql } from "drizzle-orm";
import type { Db } from "../db/client";
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

export interface RecountResult {
  repositories: number;
  namespaces: number;
}

/**
 * The rolling recount: the next `limit` repositories and namespaces after the saved cursors. Pushes
 * and garbage collection keep both counts exact as they commit (src/quota/usage.ts); this repairs
 * counts from before that accounting or changed outside it, within a few runs.
 */
export async function recountStorage(db: Db, limit = 50): Promise<RecountResult> {
  const repoCursor = Number((await readCursor(db, "storage:repositories")) ?? 0);
  const repos = await db
    .select({ id: repositories.id })
    .from(repositories)
    .where(and(gt(repositories.id, repoCursor), ne(repositories.namespace, TOMBSTONE_NAMESPACE)))
    .orderBy(asc(repositories.id))
    .limit(limit)
    .all();
  for (const { id } of repos) await recountRepository(db, id);
  await writeCursor(db, "storage:repositories", repos.length < limit ? null : String(repos.at(-1)!.id));

  const nsCursor = Number((await readCursor(db, "storage:namespaces")) ?? 0);
  const namespaces = await db
    .select({ id: users.id, username: users.username })
    .from(users)
    .where(and(gt(users.id, nsCursor), inArray(users.kind, ["user", "organization"]), isNull(users.deletingSince)))
    .orderBy(asc(users.id))
    .limit(limit)
    .all();
  for (const { username } of namespaces) await recountNamespace(db, username);
  await writeCursor(db, "storage:namespaces", namespaces.length < limit ? null : String(namespaces.at(-1)!.id));
  return { repositories: repos.length, namespaces: namespaces.length };
}
