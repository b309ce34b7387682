/**
 * Sweeps for deletions whose purge event was lost (src/queues/jobs.ts `queueJob` logs a refused
 * send and carries on; a message can also exhaust its retries). Deleted repositories stay as
 * tombstones and deleted namespaces keep `deletingSince` until purged, so both are found again
 * here and purged in bounded steps, in the same way the queue consumer does. Both purges are
 * idempotent and refuse anything live, so running alongside a purge still in the queue only
 * shares its work.
 */
import { and, asc, eq, isNotNull, lte } from "drizzle-orm";
import type { Db } from "../db/client";
import { repositories, users } from "../db/schema";
import { purgeNamespace } from "../identity/namespace-deletion";
import { purgeRepository, tombstonedRepositoryIds } from "../registry/repository-deletion";

/** A namespace deleted longer ago than this has lost its event, or its purge is stuck. */
export const NAMESPACE_PURGE_OVERDUE_MS = 10 * 60 * 1000;
/** Repositories purged per call, and full purge chunks (1,000 rows) each may delete. */
const REPOSITORIES_PER_CALL = 3;
const STATEMENTS_PER_REPOSITORY = 10;

export interface DeletionSweepResult {
  repositoriesPurged: number;
  namespacesPurged: number;
}

/** One bounded step over tombstoned repositories and overdue namespace deletions. */
export async function sweepDeletions(databases: Db | readonly Db[], nowMs: number): Promise<DeletionSweepResult> {
  // Every database, `DB` first: a repository's core rows may be on a shard (purgeRepository).
  const db = Array.isArray(databases) ? databases[0]! : (databases as Db);
  const result: DeletionSweepResult = { repositoriesPurged: 0, namespacesPurged: 0 };
  let budget = REPOSITORIES_PER_CALL;
  for (const id of await tombstonedRepositoryIds(db, budget)) {
    budget--;
    if ((await purgeRepository(databases, id, { maxStatements: STATEMENTS_PER_REPOSITORY })).done)
      result.repositoriesPurged++;
  }

  const overdue = await db
    .select({ id: users.id, username: users.username })
    .from(users)
    .where(and(isNotNull(users.deletingSince), lte(users.deletingSince, nowMs - NAMESPACE_PURGE_OVERDUE_MS)))
    .orderBy(asc(users.deletingSince))
    .limit(2)
    .all();
  for (const namespace of overdue) {
    const left = await db
      .select({ id: repositories.id })
      .from(repositories)
      .where(eq(repositories.namespace, namespace.username))
      .limit(Math.max(budget, 1))
      .all();
    for (const { id } of left) {
      budget--;
      if ((await purgeRepository(databases, id, { maxStatements: STATEMENTS_PER_REPOSITORY })).done)
        result.repositoriesPurged++;
    }
    if (left.length > 0 || budget <= 0) break;
    // No repository left: the namespace's own purge is one batch now.
    if ((await purgeNamespace(databases, namespace.id)).done) result.namespacesPurged++;
  }
  return result;
}
