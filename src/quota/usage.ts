/**
 * Exact storage accounting: the statements that keep `users.storage_bytes` (a namespace's usage)
 * and `repositories.storage_bytes` equal to what src/gc/storage.ts recounts (each blob a
 * namespace's manifests reference counted once, plus each manifest digest once) at every change
 * of the references, in the D1 batch of that change.
 *
 * Why this is exact under concurrent pushes into one namespace, although pushes into different
 * repositories run under different RepositoryDO locks: D1 runs each batch as one transaction, one
 * batch at a time (one SQLite database). The charge is not a number the Worker computed earlier
 * but a sub-select that the batch evaluates against the references as they stand at that moment,
 * before its own are inserted. Two pushes bringing the same new layer into two repositories
 * therefore commit one after the other, and the second finds the first's references: the layer
 * is charged once. Garbage collection discharges the same way, in the batch that deletes the
 * references. So after every batch, usage equals the recount; the rolling recount stays as a
 * repair (of counts from before this accounting, or of a change made outside it).
 *
 * Usage falls when garbage collection removes the namespace's last reference, not when a tag is
 * deleted: Quay's usage, too, falls when the collector reclaims.
 */
import { type SQL, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { repositories, users } from "../db/schema";
import type { Digest } from "../registry/reference";

/** What a manifest commit brings: its digest, its bytes and the blobs it references. */
export interface ManifestBytes {
  digest: Digest;
  size: number;
  blobs: readonly Digest[];
}

/** Where a charge is counted: a namespace (by name) or one repository. */
type Scope = { namespace: string } | { repositoryId: number };

/** The manifests of `scope` (an alias `alias` of `manifests`), as a condition. */
function inScope(scope: Scope, alias: string): SQL {
  const m = sql.raw(alias);
  return "namespace" in scope
    ? sql`exists (select 1 from repositories p where p.id = ${m}.repository_id and p.namespace = ${scope.namespace})`
    : sql`${m}.repository_id = ${scope.repositoryId}`;
}

/**
 * The bytes the manifest adds to `scope`: its blobs that no manifest of the scope references yet,
 * and its own bytes when no manifest of that digest is in the scope yet. Evaluated by the batch
 * before the manifest's rows are written (a manifest pushed again adds nothing: its references
 * are there already).
 */
export function addedBytes(scope: Scope, manifest: ManifestBytes): SQL {
  const digests = JSON.stringify([...new Set(manifest.blobs)]);
  return sql`(coalesce((select sum(b.size) from blobs b
      where b.digest in (select value from json_each(${digests}))
        and not exists (select 1 from manifest_references r join manifests m on m.id = r.manifest_id
          where r.digest = b.digest and r.kind = 'blob' and ${inScope(scope, "m")})), 0)
    + (case when exists (select 1 from manifests m where m.digest = ${manifest.digest} and ${inScope(scope, "m")})
      then 0 else ${manifest.size} end))`;
}

/** The namespace's usage as it stands when the statement runs. */
export function namespaceUsage(namespace: string): SQL {
  return sql`coalesce((select storage_bytes from users where username = ${namespace}), 0)`;
}

/**
 * The statements charging a manifest commit to its namespace and repository: first in the
 * commit's batch (before its references exist).
 */
export function chargeStatements(namespace: string, repositoryId: number, manifest: ManifestBytes): SQL[] {
  return [
    sql`update users set storage_bytes = storage_bytes + ${addedBytes({ namespace }, manifest)}
      where username = ${namespace}`,
    sql`update repositories set storage_bytes = storage_bytes + ${addedBytes({ repositoryId }, manifest)}
      where id = ${repositoryId}`,
  ];
}

/**
 * The statement discharging the manifests `manifestIds` of namespace `namespace` that garbage
 * collection is about to delete: the blobs only they reference in the namespace, and the digests
 * no other manifest of the namespace has. First in the batch that deletes them.
 */
export function dischargeStatement(namespace: string, manifestIds: readonly number[]): SQL {
  const ids = JSON.stringify(manifestIds);
  const going = sql`(select value from json_each(${ids}))`;
  const others = (alias: string) => sql`${sql.raw(alias)}.id not in ${going} and ${inScope({ namespace }, alias)}`;
  return sql`update users set storage_bytes = max(0, storage_bytes
    - coalesce((select sum(b.size) from blobs b
      where b.digest in (select r.digest from manifest_references r where r.kind = 'blob' and r.manifest_id in ${going})
        and not exists (select 1 from manifest_references r join manifests m on m.id = r.manifest_id
          where r.digest = b.digest and r.kind = 'blob' and ${others("m")})), 0)
    - coalesce((select sum(size) from (select max(g.size) as size from manifests g
      where g.id in ${going}
        and not exists (select 1 from manifests m where m.digest = g.digest and ${others("m")})
      group by g.digest)), 0))
    where username = ${namespace}`;
}

/**
 * The statement recounting namespace `namespace`'s usage from scratch (src/gc/storage.ts's repair,
 * and a repository's deletion, which takes all of the repository's references out at once). One
 * statement, so it is exact at the moment it runs.
 */
export function namespaceRecount(namespace: string): SQL {
  return sql`
    update users set storage_bytes =
      coalesce((select sum(b.size) from blobs b where b.digest in (
        select r.digest from manifest_references r
        join manifests m on m.id = r.manifest_id
        join repositories p on p.id = m.repository_id
        where p.namespace = ${namespace} and r.kind = 'blob')), 0)
      + coalesce((select sum(size) from (
        select max(m.size) as size from manifests m join repositories p on p.id = m.repository_id
        where p.namespace = ${namespace} group by m.digest)), 0)
    where username = ${namespace}`;
}

/**
 * The statements charging a blob that arrives after manifests referencing it were committed (the
 * proxy cache commits a manifest before it has fetched its layers): each namespace and repository
 * whose manifests reference `digest` gains its size, but only when no blob row of that digest
 * exists yet. First in the batch that inserts the row. An ordinary push references only blobs
 * already there, so for it these change nothing.
 */
export function arrivingBlobCharges(db: Db, digest: Digest, size: number) {
  const absent = sql`not exists (select 1 from blobs where digest = ${digest})`;
  const referencing = sql`select m.repository_id from manifest_references r join manifests m on m.id = r.manifest_id
    where r.digest = ${digest} and r.kind = 'blob'`;
  return [
    db
      .update(users)
      .set({ storageBytes: sql`${users.storageBytes} + ${size}` })
      .where(
        sql`${absent} and ${users.username} in (select p.namespace from repositories p where p.id in (${referencing}))`,
      ),
    db
      .update(repositories)
      .set({ storageBytes: sql`${repositories.storageBytes} + ${size}` })
      .where(sql`${absent} and ${repositories.id} in (${referencing})`),
  ] as const;
}
