/**
 * Finding repositories by text (Quay `data/model/repository.py` `get_filtered_matching_repositories`):
 * the one query behind `docker search` (/v1/search, ./repository-views.ts) and the API's
 * `/api/v1/find/repositories` and `/api/v1/find/all` (./find.ts). Only what `visibleTo` selects.
 */
import { and, asc, eq, or, sql, type SQL } from "drizzle-orm";
import type { Db } from "../db/client";
import { repositories, type User } from "../db/schema";
import { visibleTo } from "../identity/permissions";
import { clock } from "../lib/clock";
import { containsText } from "../db/text-match";

export interface RepositoryMatch {
  id: number;
  name: string;
  namespace: string;
  description: string | null;
  visibility: "private" | "public";
  kind: "image" | "application";
  stars: number;
  /**
   * Quay's last_modified: the start of the most recently moved alive tag (ms), if any, as `DB`
   * has it: null for a repository whose namespace's core is on a shard, whose tags are there
   * (find.ts asks the page's shards, ./core-page-facts.ts).
   */
  lastModifiedMs: number | null;
}

/**
 * Repositories `viewer` can see whose name or description holds `query` (case-insensitive), name
 * matches first (Quay weighs a name match 100 times a description match), then in creation order;
 * an empty query matches every visible repository (Quay's generic listing). `kind` narrows to one
 * kind (Quay's `repo_kind`; none: both). `limit + 1` rows are read, so a caller can tell whether
 * another page follows. Quay matches the name without its namespace with a full-text index; Wharf
 * matches the full name, so a namespace's name finds its repositories.
 */
export async function matchingRepositories(
  db: Db,
  viewer: User | undefined,
  search: { query: string; limit: number; offset: number; kind?: "image" | "application" },
): Promise<RepositoryMatch[]> {
  // Literal, case-insensitive substrings (../db/text-match.ts says why not LIKE).
  const nameMatches = containsText(repositories.name, search.query);
  const conditions: (SQL | undefined)[] = [visibleTo(db, viewer)];
  if (search.kind) conditions.push(eq(repositories.kind, search.kind));
  if (search.query) conditions.push(or(nameMatches, containsText(repositories.description, search.query)));
  const now = clock.now();
  return db
    .select({
      id: repositories.id,
      name: repositories.name,
      namespace: repositories.namespace,
      description: repositories.description,
      visibility: repositories.visibility,
      kind: repositories.kind,
      stars: sql<number>`(select count(*) from repository_stars s where s.repository_id = "repositories"."id")`,
      lastModifiedMs: sql<
        number | null
      >`(select max(t.lifetime_start_ms) from tags t where t.repository_id = "repositories"."id"
        and t.hidden = 0 and (t.lifetime_end_ms is null or t.lifetime_end_ms > ${now}))`,
    })
    .from(repositories)
    .where(and(...conditions))
    .orderBy(...(search.query ? [sql`case when ${nameMatches} then 0 else 1 end`] : []), asc(repositories.id))
    .limit(search.limit + 1)
    .offset(search.offset)
    .all();
}
