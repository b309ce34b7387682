/**
 * Quay's repository mirror health (endpoints/api/mirrorhealth.py `get_mirror_health_data`): counts
 * of the enabled mirrors of repositories in state MIRROR by sync status, sampled issues (at most
 * five of each kind), and `healthy` false when more than 20% of the mirrors that have run are
 * failing. Quay reads the last sync time and pending tags from its worker's Prometheus gauges,
 * which its API processes usually lack (it then reports no stale mirrors and 0 pending tags);
 * Wharf has no such gauges, so it answers as Quay's API process does.
 */
import { and, asc, eq, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { repoMirrorConfigs, repositories } from "../db/schema";

const ISSUE_SAMPLE = 5;
const CRITICAL_FAILURE_RATE = 0.2;
export const MAX_DETAIL_PAGE = 1000;

export interface HealthQuery {
  namespace: string | null;
  detailed: boolean;
  limit: number;
  offset: number;
}

const isoZ = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");

export async function mirrorHealth(db: Db, query: HealthQuery, nowMs: number) {
  const where = and(
    eq(repositories.state, "MIRROR"),
    eq(repoMirrorConfigs.isEnabled, true),
    query.namespace === null ? undefined : eq(repositories.namespace, query.namespace),
  );
  const count = (status: string) =>
    sql<number>`coalesce(sum(case when ${repoMirrorConfigs.syncStatus} = ${status} then 1 else 0 end), 0)`;
  const counts = (await db
    .select({
      total: sql<number>`count(*)`,
      syncing: count("SYNCING"),
      completed: count("SUCCESS"),
      failed: count("FAIL"),
      never_run: count("NEVER_RUN"),
    })
    .from(repoMirrorConfigs)
    .innerJoin(repositories, eq(repositories.id, repoMirrorConfigs.repositoryId))
    .where(where)
    .get()) ?? { total: 0, syncing: 0, completed: 0, failed: 0, never_run: 0 };
  const rows = (condition?: ReturnType<typeof sql>) =>
    db
      .select({
        name: repositories.name,
        namespace: repositories.namespace,
        status: repoMirrorConfigs.syncStatus,
        isEnabled: repoMirrorConfigs.isEnabled,
        retries: repoMirrorConfigs.syncRetriesRemaining,
      })
      .from(repoMirrorConfigs)
      .innerJoin(repositories, eq(repositories.id, repoMirrorConfigs.repositoryId))
      .where(and(where, condition))
      .orderBy(asc(repositories.namespace), asc(repositories.name));
  const sample = (condition: ReturnType<typeof sql>) => rows(condition).limit(ISSUE_SAMPLE).all();
  const timestamp = isoZ(nowMs);
  const issues: Array<{ severity: string; message: string; timestamp: string }> = [];
  for (const r of await sample(sql`${repoMirrorConfigs.syncStatus} = 'NEVER_RUN'`))
    issues.push({ severity: "warning", message: `Repository ${r.name} has never been synced`, timestamp });
  for (const r of await sample(
    sql`${repoMirrorConfigs.syncStatus} = 'FAIL' and ${repoMirrorConfigs.syncRetriesRemaining} = 0`,
  ))
    issues.push({ severity: "error", message: `Repository ${r.name} has exhausted all retry attempts`, timestamp });
  let healthy = true;
  const ran = counts.total - counts.never_run;
  if (ran > 0 && counts.failed / ran > CRITICAL_FAILURE_RATE) {
    healthy = false;
    const rate = ((counts.failed / ran) * 100).toFixed(1);
    issues.unshift({
      severity: "critical",
      message: `${rate}% of repositories are failing (threshold: ${(CRITICAL_FAILURE_RATE * 100).toFixed(1)}%)`,
      timestamp,
    });
  }
  const repositoriesPart: Record<string, unknown> = {
    total: counts.total,
    syncing: counts.syncing,
    completed: counts.completed,
    failed: counts.failed,
    never_run: counts.never_run,
  };
  if (query.detailed) {
    const limit = Math.max(1, Math.min(query.limit, MAX_DETAIL_PAGE));
    const offset = Math.max(0, query.offset);
    const page = await rows()
      .limit(limit + 1)
      .offset(offset)
      .all();
    repositoriesPart.details = page.slice(0, limit).map((r) => ({
      namespace: r.namespace,
      repository: r.name.slice(r.namespace.length + 1),
      sync_status: r.status,
      is_enabled: r.isEnabled,
      last_sync: null,
      retries_remaining: r.retries,
    }));
    repositoriesPart.pagination = { limit, offset, has_more: page.length > limit };
  }
  return {
    healthy,
    workers: { status: healthy ? "healthy" : "degraded" },
    repositories: repositoriesPart,
    tags_pending: 0,
    last_check: timestamp,
    issues,
  };
}
