/**
 * Quay's tag history (`GET /api/v1/repository/{repository}/tag/`, `endpoints/api/tag.py`
 * ListRepositoryTags): one row per lifetime of a tag, newest first, with Quay's paging (`page`
 * from 1, `limit` up to 100, `has_additional`). Hidden rows (temporary tags protecting manifests
 * pushed by digest) never show. Reads run anywhere; callers check access.
 */
import { and, asc, desc, eq, sql, type SQL } from "drizzle-orm";
import type { Db } from "../db/client";
import { manifests, tags } from "../db/schema";
import { quayDate } from "../identity/app-tokens";
import { isIndexMediaType } from "./media-types";
import { aliveAt } from "./tags";
import { clock } from "../lib/clock";
import { containsText } from "../db/text-match";

/** Quay: `limit` defaults to 50 and is capped at 100. */
export const DEFAULT_TAG_PAGE = 50;
export const MAX_TAG_PAGE = 100;

export interface TagHistoryQuery {
  onlyActiveTags: boolean;
  page: number;
  limit: number;
  specificTag?: string;
  /** Quay's `filter_tag_name`: `like:<text>` (substring) or `eq:<name>`. */
  filterTagName?: { op: "like" | "eq"; value: string };
}

/**
 * A manifest's size as Quay shows it beside a tag (`manifest_layers_size`, the manifest row's
 * `layers_compressed_size`): the compressed size of an image's layers, its config not counted;
 * `null` for an index, which has no layers of its own. Raw, table-qualified SQL: drizzle leaves
 * columns unqualified inside sql``.
 */
export const layerBytes = sql<
  number | null
>`(select sum(b.size) from manifest_references r join blobs b on b.digest = r.digest
  where r.manifest_id = "manifests"."id" and r.kind = 'blob'
  and r.digest is not "manifests"."config_digest")`;

export function shownSize(mediaType: string, layerBytesSum: number | null): number | null {
  return isIndexMediaType(mediaType) ? null : (layerBytesSum ?? 0);
}

/**
 * An index's children and whether the repository holds each (Quay's sparse-manifest fields): the
 * child manifests the index lists (its `manifest` references), each present while its manifest row
 * is in the repository and not deleted by digest. `{}` for an image, which lists no child.
 */
const childPresence = sql<string>`(select json_group_object(r.digest, exists(select 1 from manifests c
    where c.repository_id = "manifests"."repository_id" and c.digest = r.digest and c.deleted_at is null))
  from manifest_references r where r.manifest_id = "manifests"."id" and r.kind = 'manifest')`;

/**
 * Quay's fields of a tag on a manifest list (endpoints/api/tag.py `_tag_dict`, the sparse-manifest
 * additions): how many children the list names, how many the repository holds, and which.
 */
function sparseFields(presenceJson: string) {
  const presence = Object.fromEntries(
    Object.entries(JSON.parse(presenceJson) as Record<string, number>).map(([digest, held]) => [digest, held === 1]),
  );
  const present = Object.values(presence).filter(Boolean).length;
  const count = Object.keys(presence).length;
  return {
    is_sparse: present < count,
    child_manifest_count: count,
    present_child_count: present,
    child_manifests_presence: presence,
  };
}

/** `like:` matches a substring, case-insensitively as Quay's LIKE; the text is literal (../db/text-match.ts). */
function nameFilter(filter: TagHistoryQuery["filterTagName"]): SQL | undefined {
  if (!filter) return undefined;
  if (filter.op === "eq") return eq(tags.name, filter.value);
  return containsText(tags.name, filter.value);
}

export async function listTagHistory(db: Db, repositoryId: number, query: TagHistoryQuery, nowMs = clock.now()) {
  const rows = await db
    .select({
      name: tags.name,
      startMs: tags.lifetimeStartMs,
      endMs: tags.lifetimeEndMs,
      reversion: tags.reversion,
      immutable: tags.immutable,
      digest: manifests.digest,
      mediaType: manifests.mediaType,
      layerBytes,
      children: childPresence,
    })
    .from(tags)
    .innerJoin(manifests, eq(manifests.id, tags.manifestId))
    .where(
      and(
        eq(tags.repositoryId, repositoryId),
        eq(tags.hidden, false),
        query.onlyActiveTags ? aliveAt(nowMs) : undefined,
        query.specificTag === undefined ? undefined : eq(tags.name, query.specificTag),
        nameFilter(query.filterTagName),
      ),
    )
    .orderBy(desc(tags.lifetimeStartMs), asc(tags.name))
    // One row more than the page tells whether another page follows.
    .limit(query.limit + 1)
    .offset((query.page - 1) * query.limit)
    .all();
  return {
    tags: rows.slice(0, query.limit).map((row) => tagRowView(row)),
    page: query.page,
    has_additional: rows.length > query.limit,
  };
}

function tagRowView(row: {
  name: string;
  startMs: number;
  endMs: number | null;
  reversion: boolean;
  immutable: boolean;
  digest: string;
  mediaType: string;
  layerBytes: number | null;
  children: string;
}) {
  const isList = isIndexMediaType(row.mediaType);
  return {
    name: row.name,
    reversion: row.reversion,
    start_ts: Math.floor(row.startMs / 1000),
    ...(row.endMs !== null ? { end_ts: Math.floor(row.endMs / 1000) } : {}),
    manifest_digest: row.digest,
    is_manifest_list: isList,
    size: shownSize(row.mediaType, row.layerBytes),
    last_modified: quayDate(row.startMs),
    ...(row.endMs !== null ? { expiration: quayDate(row.endMs) } : {}),
    ...(isList ? sparseFields(row.children) : {}),
    // Quay adds `immutable` with FEATURE_IMMUTABLE_TAGS; Wharf always has immutable tags.
    immutable: row.immutable,
  };
}
