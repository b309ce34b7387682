/**
 * What Quay's repository endpoints show (`endpoints/api/repository_models_interface.py`): one
 * repository with its tags, pages of the repositories a caller can see, and the v1 search that
 * `docker search` reads. Callers check access; listings show only what `visibleTo` selects.
 */
import { and, asc, desc, eq, gt, inArray, sql, type SQL } from "drizzle-orm";
import type { Db } from "../db/client";
import { manifests, repositories, repositoryStars, tags, users, type Repository, type User } from "../db/schema";
import { quayDate } from "../identity/app-tokens";
import { visibleTo } from "../identity/permissions";
import { dailyActivity, popularitySince, popularitySql } from "./repository-activity";
import { splitName } from "./repository-name";
import { layerBytes, shownSize } from "./tag-history";
import { aliveAt } from "./tags";
import { clock } from "../lib/clock";
import { matchingRepositories } from "./repository-search";
import { pythonFloat } from "../lib/python-float";
import { type QuotaSettings, repositoryQuotaReports } from "../quota/quota-views";
import { shardedCoreFacts } from "./core-page-facts";

/** Quay shows at most this many tags in a repository's view (its `max_tags`), the most recent. */
export const MAX_VIEW_TAGS = 500;
/** Quay's REPOS_PER_PAGE. */
export const REPOSITORIES_PER_PAGE = 100;
/** Quay's default tag expiration window (two weeks), for a namespace without an account row. */
const DEFAULT_TAG_EXPIRATION_S = 1_209_600;

/**
 * The `MAX_VIEW_TAGS` most recently moved alive, visible tags with their manifest, in one query,
 * sized as the tag history sizes them ({@link shownSize}).
 */
export async function tagSummaries(db: Db, repositoryId: number, nowMs = clock.now()) {
  const rows = await db
    .select({
      name: tags.name,
      startMs: tags.lifetimeStartMs,
      endMs: tags.lifetimeEndMs,
      digest: manifests.digest,
      mediaType: manifests.mediaType,
      layerBytes,
    })
    .from(tags)
    .innerJoin(manifests, eq(manifests.id, tags.manifestId))
    .where(and(eq(tags.repositoryId, repositoryId), aliveAt(nowMs), eq(tags.hidden, false)))
    .orderBy(desc(tags.lifetimeStartMs), asc(tags.name))
    .limit(MAX_VIEW_TAGS)
    .all();
  return rows.map((t) => ({
    name: t.name,
    size: shownSize(t.mediaType, t.layerBytes),
    last_modified: quayDate(t.startMs),
    ...(t.endMs !== null ? { expiration: quayDate(t.endMs) } : {}),
    manifest_digest: t.digest,
  }));
}

/**
 * Quay's `stats` (`includeStats`): daily counts over three months of every logged action, pulls
 * included (src/registry/repository-activity.ts).
 */
async function dailyStats(db: Db, core: Db, repositoryId: number, nowMs: number) {
  const days = Array.from({ length: 91 }, (_, i) => new Date(nowMs - (i + 1) * 86_400_000).toISOString().slice(0, 10));
  const actions = await dailyActivity(db, core, repositoryId, days[days.length - 1]!);
  return days.map((date) => ({ date, count: actions.get(date) ?? 0 }));
}

async function isStarred(db: Db, viewer: User | undefined, repositoryId: number): Promise<boolean> {
  if (!viewer) return false;
  const row = await db
    .select({ id: repositoryStars.repositoryId })
    .from(repositoryStars)
    .where(and(eq(repositoryStars.userId, viewer.id), eq(repositoryStars.repositoryId, repositoryId)))
    .get();
  return row !== undefined;
}

/**
 * `GET /api/v1/repository/{repository}`: Quay's image repository JSON (or application's, without
 * tags). `core` is the client over the namespace's registry core (its tags and pull statistics,
 * src/db/core-fan-out.ts `coreDbFor`), `db` itself when that is `DB`.
 */
export async function repositoryView(
  db: Db,
  core: Db,
  repository: Repository,
  viewer: User | undefined,
  options: { includeTags: boolean; includeStats: boolean; canWrite: boolean; canAdmin: boolean; statusToken: string },
) {
  const [namespace, name] = splitName(repository.name);
  const [owner, starred, tagList] = await Promise.all([
    db
      .select({ kind: users.kind, tagExpirationS: users.tagExpirationS })
      .from(users)
      .where(eq(users.username, namespace))
      .get(),
    isStarred(db, viewer, repository.id),
    options.includeTags && repository.kind === "image" ? tagSummaries(core, repository.id) : Promise.resolve(null),
  ]);
  const base = {
    namespace,
    name,
    kind: repository.kind,
    description: repository.description,
    is_public: repository.visibility === "public",
    is_organization: owner?.kind === "organization",
    is_starred: starred,
  };
  const view: Record<string, unknown> =
    repository.kind === "application"
      ? // Quay's application repositories list channels and releases (its app registry, not kept here).
        { ...base, channels: [], releases: [], state: repository.state, is_free_account: true }
      : {
          ...base,
          // Quay's badge token: a UUID for a private repository, "" for a public one (no badges yet).
          status_token: repository.visibility === "public" ? "" : options.statusToken,
          trust_enabled: false,
          tag_expiration_s: owner?.tagExpirationS ?? DEFAULT_TAG_EXPIRATION_S,
          is_free_account: true,
          state: repository.state,
          ...(tagList ? { tags: Object.fromEntries(tagList.map((t) => [t.name, t])) } : {}),
        };
  // Quay: nobody may write to a repository that is not NORMAL (its test_get_repo_state_can_write).
  view.can_write = options.canWrite && repository.state === "NORMAL";
  view.can_admin = options.canAdmin;
  if (options.includeStats && repository.kind !== "application")
    view.stats = await dailyStats(db, core, repository.id, clock.now());
  return view;
}

export interface ListQuery {
  namespace?: string;
  starred: boolean;
  lastModified: boolean;
  popularity: boolean;
  kind: "image" | "application";
  /** The last repository id of the previous page. */
  after?: number;
  /** With FEATURE_QUOTA_MANAGEMENT, each item carries Quay's `quota_report` (src/quota/quota-views.ts). */
  quotas?: QuotaSettings;
}

/**
 * A page of the repositories `viewer` can see, in creation (id) order as Quay's, with Quay's list
 * item JSON; `next` is the id to continue after when another page exists. `starred` lists the
 * viewer's starred repositories, else `namespace` narrows to one namespace, else (Quay's
 * `public=true`) everything visible.
 *
 * `last_modified`, `popularity` and the quota report's bytes of a repository whose namespace's core
 * is on a shard are not in `DB`: the page's query computes them for the others as it always did,
 * then each shard holding some of the page's namespaces is asked about its own (./core-page-facts.ts).
 */
export async function listRepositories(env: Env, db: Db, viewer: User | undefined, query: ListQuery) {
  const conditions: (SQL | undefined)[] = [visibleTo(db, viewer), eq(repositories.kind, query.kind)];
  if (query.starred) {
    const starredIds = db
      .select({ id: repositoryStars.repositoryId })
      .from(repositoryStars)
      .where(eq(repositoryStars.userId, viewer?.id ?? -1));
    conditions.push(inArray(repositories.id, starredIds));
  } else if (query.namespace !== undefined) {
    conditions.push(eq(repositories.namespace, query.namespace));
  }
  if (query.after !== undefined) conditions.push(gt(repositories.id, query.after));
  const now = clock.now();
  const rows = await db
    .select({
      id: repositories.id,
      name: repositories.name,
      description: repositories.description,
      visibility: repositories.visibility,
      kind: repositories.kind,
      state: repositories.state,
      namespace: repositories.namespace,
      storageBytes: repositories.storageBytes,
      starred: viewer
        ? sql<number>`exists (select 1 from repository_stars s where s.user_id = ${viewer.id} and s.repository_id = "repositories"."id")`
        : sql<number>`0`,
      // Quay's last_modified: the start of the most recently moved alive tag, in unix seconds.
      lastModifiedMs: query.lastModified
        ? sql<number | null>`(select max(t.lifetime_start_ms) from tags t where t.repository_id = "repositories"."id"
            and t.hidden = 0 and (t.lifetime_end_ms is null or t.lifetime_end_ms > ${now}))`
        : sql<number | null>`null`,
      popularity: query.popularity ? popularitySql(sql`"repositories"."id"`, popularitySince(now)) : sql<number>`0`,
    })
    .from(repositories)
    .where(and(...conditions))
    .orderBy(asc(repositories.id))
    .limit(REPOSITORIES_PER_PAGE + 1)
    .all();
  const quotaOn = query.quotas?.FEATURE_QUOTA_MANAGEMENT ? query.quotas : undefined;
  const page = await withShardedCores(env, rows.slice(0, REPOSITORIES_PER_PAGE), now, {
    ...query,
    quotas: quotaOn,
  });
  const reports = quotaOn ? await repositoryQuotaReports(db, page, quotaOn) : undefined;
  const items = page.map((r) => {
    const [namespace, name] = splitName(r.name);
    const item: Record<string, unknown> = {
      namespace,
      name,
      description: r.description,
      is_public: r.visibility === "public",
      kind: r.kind,
      state: r.state,
      // Quay's `quota_report` with FEATURE_QUOTA_MANAGEMENT (the repository's bytes and its
      // namespace's configured quota), its `quota: null` without.
      ...(reports ? { quota_report: reports.get(r.id) } : { quota: null }),
    };
    if (query.lastModified) item.last_modified = r.lastModifiedMs === null ? null : Math.floor(r.lastModifiedMs / 1000);
    // Quay sums a repository's action counts of the last week as a float (`float(action_count or 0)`),
    // which Python writes `0.0` when whole.
    if (query.popularity) item.popularity = pythonFloat(Number(r.popularity));
    if (viewer) item.is_starred = r.starred === 1;
    return item;
  });
  return { items, next: rows.length > REPOSITORIES_PER_PAGE ? page[page.length - 1]!.id : undefined };
}

/** A page row as the listing reads it from `DB`. */
interface PageRow {
  id: number;
  namespace: string;
  storageBytes: number;
  lastModifiedMs: number | null;
  popularity: number;
}

/**
 * `rows` with what their shards say of repositories whose core is on one: the last tag move, the
 * pulls added to `DB`'s action counts (the popularity's other half), the shadow's bytes. Nothing is
 * read unless the page shows one of these.
 */
async function withShardedCores<T extends PageRow>(
  env: Env,
  rows: T[],
  nowMs: number,
  shown: Pick<ListQuery, "lastModified" | "popularity" | "quotas">,
): Promise<T[]> {
  if (!shown.lastModified && !shown.popularity && !shown.quotas) return rows;
  const facts = await shardedCoreFacts(env, rows, nowMs);
  if (facts.size === 0) return rows;
  return rows.map((r) => {
    const core = facts.get(r.id);
    if (!core) return r;
    return {
      ...r,
      lastModifiedMs: core.lastModifiedMs,
      popularity: Number(r.popularity) + core.pulls,
      storageBytes: core.storageBytes,
    };
  });
}

/** Quay's v1 search shows at most five pages: "this API should only really ever be used by the Docker CLI". */
export const SEARCH_MAX_PAGE = 5;

/**
 * Quay's v1 search (`endpoints/v1/index.py` `_conduct_repo_search`): image repositories `viewer`
 * can see whose name or description holds `query` (case-insensitive), name matches first (Quay
 * weighs a name match 100 times a description match), then in creation order, `limit` per page,
 * `page` from 1 to {@link SEARCH_MAX_PAGE}. Quay matches the name without its namespace with a
 * full-text index; Wharf matches the full name, so `docker search <host>/<namespace>` lists a
 * namespace. An empty query finds nothing, as in Quay.
 */
export async function searchRepositories(
  db: Db,
  viewer: User | undefined,
  search: { query: string; limit: number; page: number },
) {
  const { query, limit, page } = search;
  const rows = query
    ? await matchingRepositories(db, viewer, { query, limit, offset: (page - 1) * limit, kind: "image" })
    : [];
  const results = rows.slice(0, limit).map((r) => ({
    name: r.name,
    description: r.description,
    is_public: r.visibility === "public",
    href: `/repository/${r.name}`,
    // What docker's SearchResult reads beside Quay's fields (docker prints STARS and OFFICIAL).
    star_count: r.stars,
    is_official: false,
    is_automated: false,
  }));
  return {
    query,
    num_results: results.length,
    num_pages: rows.length > limit ? page + 1 : page,
    page,
    page_size: limit,
    results,
  };
}
