/**
 * Reading the pull statistics the EVENTS consumer sums (src/queues/pull-statistics.ts, from the
 * one pull-counting mechanism of src/registry/pull-counts.ts): a tag's and a manifest's counts
 * (Quay's `getTagPullStatistics`, `getManifestPullStatistics`); a repository's daily counts
 * are read with its other actions (src/registry/repository-activity.ts). Counts lag the pulls by the counter's flush (at most 10 s) and the queue.
 */
import { and, eq } from "drizzle-orm";
import type { Db } from "../db/client";
import { manifestPullStats, tagPullStats } from "../db/schema";

export interface PullCount {
  pulls: number;
  /** Unix ms of the last pull, or null when never pulled. */
  lastPulledAt: number | null;
}

const NEVER: PullCount = { pulls: 0, lastPulledAt: null };

/** Quay's date of a pull statistic: ISO 8601 in UTC, to the second (`2024-01-01T10:00:00Z`). */
export function pullDate(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

export async function tagPulls(db: Db, repositoryId: number, tag: string): Promise<PullCount> {
  const row = await db
    .select({ pulls: tagPullStats.pulls, lastPulledAt: tagPullStats.lastPulledAt })
    .from(tagPullStats)
    .where(and(eq(tagPullStats.repositoryId, repositoryId), eq(tagPullStats.tag, tag)))
    .get();
  return row ?? NEVER;
}

export async function manifestPulls(db: Db, repositoryId: number, digest: string): Promise<PullCount> {
  const row = await db
    .select({ pulls: manifestPullStats.pulls, lastPulledAt: manifestPullStats.lastPulledAt })
    .from(manifestPullStats)
    .where(and(eq(manifestPullStats.repositoryId, repositoryId), eq(manifestPullStats.digest, digest)))
    .get();
  return row ?? NEVER;
}
