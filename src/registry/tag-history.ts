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
 * A manifest's size as Quay shows it beside a tag: what an image references (config and layers:
 * the manifest's blob references' sizes), or the manifest's own size for an index, which
 * references no blobs. Raw, table-qualified SQL: drizzle leaves columns unqualified inside sql``.
 */
export const referencedBlobBytes = sql<
  number | null
>`(select sum(b.size) from manifest_references r join blobs b on b.digest = r.digest
  where r.manifest_id = "manifests"."id" and r.kind = 'blob')`;

export function shownSize(mediaType: string, manifestSize: number, blobBytes: number | null): number {
  return isIndexMediaType(mediaType) ? manifestSize : (blobBytes ?? 0);
}

/** `like:` matches a substring; LIKE's own wildcards in the text are matched literally. */
function nameFilter(filter: TagHistoryQuery["filterTagName"]): SQL | undefined {
  if (!filter) return undefined;
  if (filter.op === "eq") return eq(tags.name, filter.value);
  const escaped = filter.value.replace(/[\\%_]/g, (ch) => `\\${ch}`);
  return sql`${tags.name} like ${`%${escaped}%`} escape '\\'`;
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
      manifestSize: manifests.size,
      blobBytes: referencedBlobBytes,
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
  manifestSize: number;
  blobBytes: number | null;
}) {
  const isList = isIndexMediaType(row.mediaType);
  return {
    name: row.name,
    reversion: row.reversion,
    start_ts: Math.floor(row.startMs / 1000),
    ...(row.endMs !== null ? { end_ts: Math.floor(row.endMs / 1000) } : {}),
    manifest_digest: row.digest,
    is_manifest_list: isList,
    size: shownSize(row.mediaType, row.manifestSize, row.blobBytes),
    last_modified: quayDate(row.startMs),
    ...(row.endMs !== null ? { expiration: quayDate(row.endMs) } : {}),
    // Quay adds `immutable` with FEATURE_IMMUTABLE_TAGS; Wharf always has immutable tags.
    immutable: row.immutable,
  };
}
