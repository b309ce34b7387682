/**
 * A repository's activity as Quay computes it from its action logs (RepositoryActionCount:
 * `get_repository_action_counts`, `get_repositories_action_sums`): every logged action per UTC
 * day, read from the two daily counts Wharf keeps, pulls (`repository_pull_stats`, the one pull
 * count) and the other actions (`repository_action_counts`, counted as their entries are written,
 * src/events/logs-writer.ts). Both outlive the entries' retention, as Quay's counts do: the view's
 * `stats` spans three months, logs 30 days. Counts lag the actions by the queue.
 */
import { and, eq, gte, inArray, type SQL, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { repositoryActionCounts, repositoryPullStats } from "../db/schema";

/** Quay's popularity window: the actions of the last week. */
const POPULARITY_DAYS = 7;

const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** The first day a popularity counts, as of `nowMs`. */
export const popularitySince = (nowMs: number) => dayOf(nowMs - POPULARITY_DAYS * 86_400_000);

/**
 * The repository's actions per UTC day (`YYYY-MM-DD`) from `sinceDay` on; days without any are
 * absent. Pulls are counted in the database of the namespace's core (`core`,
 * src/queues/pull-statistics-per-database.ts), the other actions in `DB` (`db`).
 */
export async function dailyActivity(
  db: Db,
  core: Db,
  repositoryId: number,
  sinceDay: string,
): Promise<Map<string, number>> {
  const [pulls, actions] = await Promise.all([
    core
      .select({ day: repositoryPullStats.day, n: repositoryPullStats.pulls })
      .from(repositoryPullStats)
      .where(and(eq(repositoryPullStats.repositoryId, repositoryId), gte(repositoryPullStats.day, sinceDay)))
      .all(),
    db
      .select({ day: repositoryActionCounts.day, n: repositoryActionCounts.count })
      .from(repositoryActionCounts)
      .where(and(eq(repositoryActionCounts.repositoryId, repositoryId), gte(repositoryActionCounts.day, sinceDay)))
      .all(),
  ]);
  const days = new Map<string, number>();
  for (const row of [...pulls, ...actions]) days.set(row.day, (days.get(row.day) ?? 0) + row.n);
  return days;
}

/**
 * An SQL expression of the popularity of the repository whose id is `repositoryId` (a column of
 * the enclosing query): its actions since `sinceDay`.
 */
export function popularitySql(repositoryId: SQL, sinceDay: string) {
  return sql<number>`(coalesce((select sum(p.pulls) from repository_pull_stats p
      where p.repository_id = ${repositoryId} and p.day >= ${sinceDay}), 0)
    + coalesce((select sum(a.count) from repository_action_counts a
      where a.repository_id = ${repositoryId} and a.day >= ${sinceDay}), 0))`;
}

/**
 * The popularity of each of `repositoryIds` as of `nowMs` (absent: none), as `DB` counts it: a
 * repository whose core is on a shard has its pulls there (./core-page-facts.ts adds them).
 */
export async function popularities(db: Db, repositoryIds: number[], nowMs: number): Promise<Map<number, number>> {
  if (repositoryIds.length === 0) return new Map();
  const since = popularitySince(nowMs);
  const sum = async (table: typeof repositoryPullStats | typeof repositoryActionCounts) => {
    const n = table === repositoryPullStats ? repositoryPullStats.pulls : repositoryActionCounts.count;
    return db
      .select({ id: table.repositoryId, n: sql<number>`sum(${n})` })
      .from(table)
      .where(and(inArray(table.repositoryId, repositoryIds), gte(table.day, since)))
      .groupBy(table.repositoryId)
      .all();
  };
  const totals = new Map<number, number>();
  for (const row of [...(await sum(repositoryPullStats)), ...(await sum(repositoryActionCounts))])
    totals.set(row.id, (totals.get(row.id) ?? 0) + Number(row.n));
  return totals;
}
