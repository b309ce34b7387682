/**
 * The copy steps of a move of a namespace's registry core between databases
 * (src/registry/core-moves.ts): each copies one bounded chunk of one repository's rows from the
 * database the core leaves to the one it goes to, and says where the next chunk starts (null when
 * the step is done for that repository). Every insert is keyed so that a chunk copied twice (a
 * tick that failed after its batch committed) inserts nothing twice:
 * - manifests by (repository, digest), their only unique key; their ids are the target's own
 *   (autoincrement per database: docs/sharding-the-registry-core.md §3), so references, labels
 *   and tags find their manifest there by digest, never by the source's id;
 * - tags by (repository, name, lifetime start and end), a lifetime's identity;
 * - blob rows by digest, links and pull statistics by their primary keys, labels by their UUID.
 * Blob rows arrive marked used now: the target's garbage collection then spares them for its grace
 * period while the manifests that reference them are still being copied (src/gc/blobs.ts).
 */
import { type SQL, sql } from "drizzle-orm";
import { batchSql, type Db } from "../db/client";

/** Rows a chunk reads: one D1 statement's JSON stays far below D1's 2 MB bound parameter. */
export const COPY_ROWS = 500;
/** Manifests a chunk reads, with their references and labels (an index may name hundreds). */
const MANIFEST_ROWS = 50;

/** Where a step resumes: the last key it copied, or null before its first chunk. */
export type After = string | number | null;

/** One copy step: copies the chunk after `after`, and answers where the next starts (null: done). */
export type CopyStep = (from: Db, to: Db, repositoryId: number, after: After, nowMs: number) => Promise<After>;

const at = (n: number) => sql.raw(`json_extract(value, '$[${n}]')`);

/** `insert … select … from json_each(rows)`: one statement per COPY_ROWS rows. */
function inserts(rows: unknown[][], statement: (json: string) => SQL): SQL[] {
  const out: SQL[] = [];
  for (let i = 0; i < rows.length; i += COPY_ROWS) out.push(statement(JSON.stringify(rows.slice(i, i + COPY_ROWS))));
  return out;
}

interface BlobRow {
  digest: string;
  size: number;
  storageKey: string;
  createdAt: number;
}

function blobInserts(rows: BlobRow[], nowMs: number): SQL[] {
  // `where true`: an upsert after a select needs it (SQLite "The UPSERT clause", parsing ambiguity).
  return inserts(
    rows.map((b) => [b.digest, b.size, b.storageKey, b.createdAt]),
    (json) => sql`insert into blobs (digest, size, storage_key, created_at, last_used_at)
      select ${at(0)}, ${at(1)}, ${at(2)}, ${at(3)}, ${nowMs} from json_each(${json}) where true
      on conflict (digest) do update set last_used_at = max(blobs.last_used_at, excluded.last_used_at)`,
  );
}

/** The repository's blob links, with the blob rows they need (foreign key), in digest order. */
const copyLinks: CopyStep = async (from, to, repositoryId, after, nowMs) => {
  const rows = await from.all<BlobRow & { linkedAt: number }>(sql`
    select l.digest as digest, l.created_at as linkedAt, b.size as size, b.storage_key as storageKey,
      b.created_at as createdAt
    from repository_blobs l join blobs b on b.digest = l.digest
    where l.repository_id = ${repositoryId} and l.digest > ${after ?? ""}
    order by l.digest limit ${COPY_ROWS}`);
  await batchSql(to, [
    ...blobInserts(rows, nowMs),
    ...inserts(
      rows.map((r) => [r.digest, r.linkedAt]),
      (json) => sql`insert into repository_blobs (repository_id, digest, created_at)
        select ${repositoryId}, ${at(0)}, ${at(1)} from json_each(${json}) where true
        on conflict do nothing`,
    ),
  ]);
  return rows.length < COPY_ROWS ? null : rows.at(-1)!.digest;
};

interface ManifestRow {
  id: number;
  digest: string;
  mediaType: string;
  size: number;
  artifactType: string | null;
  configMediaType: string | null;
  configDigest: string | null;
  subjectDigest: string | null;
  annotations: string | null;
  createdAt: number;
  deletedAt: number | null;
}

/** The target's id of the manifest whose digest is at `n`: the map from the source's ids (§3). */
const manifestIdAt = (repositoryId: number, n: number) =>
  sql`(select id from manifests where repository_id = ${repositoryId} and digest = ${at(n)})`;

/**
 * Manifests in the source's id order, each chunk with the blob rows its references name (a
 * reference keeps its bytes through the target's rows once the source's are gone: §4.2), then
 * the manifests, their references and their labels, in one batch.
 */
const copyManifests: CopyStep = async (from, to, repositoryId, after, nowMs) => {
  const manifests = await from.all<ManifestRow>(sql`
    select id, digest, media_type as mediaType, size, artifact_type as artifactType,
      config_media_type as configMediaType, config_digest as configDigest,
      subject_digest as subjectDigest, annotations, created_at as createdAt, deleted_at as deletedAt
    from manifests where repository_id = ${repositoryId} and id > ${after ?? 0}
    order by id limit ${MANIFEST_ROWS}`);
  if (manifests.length === 0) return null;
  const ids = sql.join(
    manifests.map((m) => sql`${m.id}`),
    sql`, `,
  );
  const references = await from.all<{ parent: string; digest: string; kind: string }>(sql`
    select m.digest as parent, r.digest as digest, r.kind as kind
    from manifest_references r join manifests m on m.id = r.manifest_id where r.manifest_id in (${ids})`);
  const blobRows = await from.all<BlobRow>(sql`
    select distinct b.digest as digest, b.size as size, b.storage_key as storageKey, b.created_at as createdAt
    from manifest_references r join blobs b on b.digest = r.digest
    where r.manifest_id in (${ids}) and r.kind = 'blob'`);
  const labels = await from.all<{
    id: string;
    parent: string;
    key: string;
    value: string;
    sourceType: string;
    mediaType: string;
    createdAt: number;
  }>(sql`
    select l.id as id, m.digest as parent, l.key as key, l.value as value, l.source_type as sourceType,
      l.media_type as mediaType, l.created_at as createdAt
    from manifest_labels l join manifests m on m.id = l.manifest_id where l.manifest_id in (${ids})`);
  await batchSql(to, [
    ...blobInserts(blobRows, nowMs),
    ...inserts(
      manifests.map((m) => [
        m.digest,
        m.mediaType,
        m.size,
        m.artifactType,
        m.configMediaType,
        m.configDigest,
        m.subjectDigest,
        m.annotations,
        m.createdAt,
        m.deletedAt,
      ]),
      (json) => sql`insert into manifests (repository_id, digest, media_type, size, artifact_type,
          config_media_type, config_digest, subject_digest, annotations, created_at, deleted_at)
        select ${repositoryId}, ${at(0)}, ${at(1)}, ${at(2)}, ${at(3)}, ${at(4)}, ${at(5)}, ${at(6)}, ${at(7)},
          ${at(8)}, ${at(9)}
        from json_each(${json}) where true
        on conflict (repository_id, digest) do nothing`,
    ),
    ...inserts(
      references.map((r) => [r.parent, r.digest, r.kind]),
      (json) => sql`insert into manifest_references (manifest_id, digest, kind)
        select ${manifestIdAt(repositoryId, 0)}, ${at(1)}, ${at(2)} from json_each(${json}) where true
        on conflict do nothing`,
    ),
    ...inserts(
      labels.map((l) => [l.id, l.parent, l.key, l.value, l.sourceType, l.mediaType, l.createdAt]),
      (json) => sql`insert into manifest_labels (id, manifest_id, key, value, source_type, media_type, created_at)
        select ${at(0)}, ${manifestIdAt(repositoryId, 1)}, ${at(2)}, ${at(3)}, ${at(4)}, ${at(5)}, ${at(6)}
        from json_each(${json}) where true
        on conflict (id) do nothing`,
    ),
  ]);
  return manifests.length < MANIFEST_ROWS ? null : manifests.at(-1)!.id;
};

/** Tags, every lifetime (the time machine reads ended ones), in the source's id order. */
const copyTags: CopyStep = async (from, to, repositoryId, after) => {
  const rows = await from.all<{
    id: number;
    name: string;
    digest: string;
    start: number;
    end: number | null;
    reversion: number;
    hidden: number;
    immutable: number;
  }>(sql`
    select t.id as id, t.name as name, m.digest as digest, t.lifetime_start_ms as start,
      t.lifetime_end_ms as "end", t.reversion as reversion, t.hidden as hidden, t.immutable as immutable
    from tags t join manifests m on m.id = t.manifest_id
    where t.repository_id = ${repositoryId} and t.id > ${after ?? 0}
    order by t.id limit ${COPY_ROWS}`);
  await batchSql(
    to,
    inserts(
      rows.map((t) => [t.name, t.digest, t.start, t.end, t.reversion, t.hidden, t.immutable]),
      (json) => sql`insert into tags (repository_id, name, manifest_id, lifetime_start_ms, lifetime_end_ms,
          reversion, hidden, immutable)
        select ${repositoryId}, ${at(0)}, ${manifestIdAt(repositoryId, 1)}, ${at(2)}, ${at(3)}, ${at(4)},
          ${at(5)}, ${at(6)}
        from json_each(${json}) as row
        where not exists (select 1 from tags t where t.repository_id = ${repositoryId}
          and t.name = json_extract(row.value, '$[0]') and t.lifetime_start_ms = json_extract(row.value, '$[2]')
          and t.lifetime_end_ms is json_extract(row.value, '$[3]'))`,
    ),
  );
  return rows.length < COPY_ROWS ? null : rows.at(-1)!.id;
};

/**
 * A pull-statistics table, in its key's order. The source's counts win: the consumer adds no
 * count to a moving namespace (src/db/shards.ts `writablePlacement` refuses it; the delivery is
 * retried after the flip, in the target).
 */
function copyPullStats(table: string, key: string, columns: readonly string[]): CopyStep {
  const all = [key, ...columns];
  const list = sql.raw(all.join(", "));
  const values = sql.raw(all.map((_, n) => `json_extract(value, '$[${n}]')`).join(", "));
  const updates = sql.raw(columns.map((c) => `${c} = excluded.${c}`).join(", "));
  return async (from, to, repositoryId, after) => {
    const rows = await from.all<Record<string, unknown>>(sql`
      select ${list} from ${sql.identifier(table)}
      where repository_id = ${repositoryId} and ${sql.identifier(key)} > ${after ?? ""}
      order by ${sql.identifier(key)} limit ${COPY_ROWS}`);
    await batchSql(
      to,
      inserts(
        rows.map((r) => all.map((c) => r[c])),
        (json) => sql`insert into ${sql.identifier(table)} (repository_id, ${list})
          select ${repositoryId}, ${values} from json_each(${json}) where true
          on conflict (repository_id, ${sql.identifier(key)}) do update set ${updates}`,
      ),
    );
    return rows.length < COPY_ROWS ? null : (rows.at(-1)![key] as string);
  };
}

/**
 * The steps in order: blob links (with their rows), manifests (with the blob rows they reference,
 * their references and labels), then tags, which name manifests, then pull statistics.
 */
export const COPY_STEPS: readonly CopyStep[] = [
  copyLinks,
  copyManifests,
  copyTags,
  copyPullStats("repository_pull_stats", "day", ["pulls", "last_pulled_at"]),
  copyPullStats("tag_pull_stats", "tag", ["pulls", "last_pulled_at", "last_digest"]),
  copyPullStats("manifest_pull_stats", "digest", ["pulls", "last_pulled_at"]),
];
