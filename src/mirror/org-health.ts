/**
 * What an organization mirror has discovered, as Quay's `listOrgMirrorRepositories` pages it
 * (`get_org_mirror_repos`: by name), and Quay's organization mirror health
 * (endpoints/api/org_mirrorhealth.py `get_org_mirror_health_data`). A discovered repository's
 * sync status is its repository mirror's (Wharf's repositories are synced by the repository mirror
 * engine); one whose creation failed is FAIL with its message, one not created yet NEVER_RUN.
 * Quay reads last sync times and pending tags from its worker's Prometheus gauges, which its API
 * process usually lacks; Wharf has none and answers as that process does (no stale repositories,
 * `last_sync_date` from none, 0 pending tags, no worker count).
 */
import { and, asc, eq, type SQL, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { type OrgMirrorConfig, orgMirrorRepositories, repoMirrorConfigs } from "../db/schema";
import { formatSyncDate } from "./configs";

const ISSUE_SAMPLE = 5;
const CRITICAL_FAILURE_RATE = 0.2;
export const MAX_DETAIL_PAGE = 1000;

const status = sql<string>`coalesce(${repoMirrorConfigs.syncStatus}, case when ${orgMirrorRepositories.statusMessage} is null then 'NEVER_RUN' else 'FAIL' end)`;
const retries = sql<number>`coalesce(${repoMirrorConfigs.syncRetriesRemaining}, 0)`;

function rows(db: Db, orgMirrorId: number, condition?: SQL) {
  return db
    .select({
      name: orgMirrorRepositories.repositoryName,
      repositoryId: orgMirrorRepositories.repositoryId,
      discoveryDate: orgMirrorRepositories.discoveryDate,
      statusMessage: orgMirrorRepositories.statusMessage,
      status,
      retries,
    })
    .from(orgMirrorRepositories)
    .leftJoin(repoMirrorConfigs, eq(repoMirrorConfigs.repositoryId, orgMirrorRepositories.repositoryId))
    .where(and(eq(orgMirrorRepositories.orgMirrorId, orgMirrorId), condition))
    .orderBy(asc(orgMirrorRepositories.repositoryName));
}

async function total(db: Db, orgMirrorId: number): Promise<number> {
  const row = await db
    .select({ n: sql<number>`count(*)` })
    .from(orgMirrorRepositories)
    .where(eq(orgMirrorRepositories.orgMirrorId, orgMirrorId))
    .get();
  return row?.n ?? 0;
}

/** Quay's `listOrgMirrorRepositories` answer for page `page` of `limit` (already bounded). */
export async function discoveredPage(db: Db, orgName: string, orgMirrorId: number, page: number, limit: number) {
  const found = await rows(db, orgMirrorId)
    .limit(limit)
    .offset((page - 1) * limit)
    .all();
  const count = await total(db, orgMirrorId);
  return {
    repositories: found.map((r) => ({
      name: r.name,
      sync_status: r.status,
      discovery_date: formatSyncDate(Math.floor(r.discoveryDate / 1000) * 1000),
      last_sync_date: null,
      status_message: r.statusMessage,
      quay_repository: r.repositoryId === null ? null : `${orgName}/${r.name}`,
    })),
    page,
    limit,
    total: count,
    has_next: page * limit < count,
  };
}

export interface OrgHealthQuery {
  detailed: boolean;
  limit: number;
  offset: number;
}

const isoZ = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");

/** Quay's `get_org_mirror_health_data` for the organization `orgName`'s mirror. */
export async function orgMirrorHealth(
  db: Db,
  orgName: string,
  config: OrgMirrorConfig,
  query: OrgHealthQuery,
  nowMs: number,
) {
  const counted = await db
    .select({ status, n: sql<number>`count(*)` })
    .from(orgMirrorRepositories)
    .leftJoin(repoMirrorConfigs, eq(repoMirrorConfigs.repositoryId, orgMirrorRepositories.repositoryId))
    .where(eq(orgMirrorRepositories.orgMirrorId, config.id))
    .groupBy(status)
    .all();
  const by = (name: string) => counted.find((c) => c.status === name)?.n ?? 0;
  const counts: Record<string, unknown> = {
    total: counted.reduce((sum, c) => sum + c.n, 0),
    syncing: by("SYNCING") + by("SYNC_NOW"),
    completed: by("SUCCESS"),
    failed: by("FAIL"),
    never_run: by("NEVER_RUN"),
    skipped: 0,
    tags_pending: 0,
  };
  const timestamp = isoZ(nowMs);
  const issues: Array<{ severity: string; message: string; timestamp: string }> = [];
  let healthy = true;
  if (config.syncStatus === "FAIL") {
    healthy = false;
    issues.push({
      severity: "error",
      message: `Organization mirror configuration for '${orgName}' is in a failed state`,
      timestamp,
    });
  }
  if (config.syncStatus === "SUCCESS") {
    const never = await rows(db, config.id, sql`${status} = 'NEVER_RUN'`).limit(ISSUE_SAMPLE).all();
    for (const r of never)
      issues.push({ severity: "warning", message: `Repository ${orgName}/${r.name} has never been synced`, timestamp });
  }
  const exhausted = await rows(db, config.id, sql`${status} = 'FAIL' and ${retries} = 0`).limit(ISSUE_SAMPLE).all();
  for (const r of exhausted)
    issues.push({
      severity: "error",
      message: `Repository ${orgName}/${r.name} has exhausted all retry attempts`,
      timestamp,
    });
  const ran = (counts.total as number) - (counts.never_run as number);
  const failed = counts.failed as number;
  if (ran > 0 && failed / ran > CRITICAL_FAILURE_RATE) {
    healthy = false;
    issues.unshift({
      severity: "critical",
      message: `${((failed / ran) * 100).toFixed(1)}% of discovered repositories are failing (threshold: ${(CRITICAL_FAILURE_RATE * 100).toFixed(1)}%)`,
      timestamp,
    });
  }
  if (query.detailed) {
    const limit = Math.max(1, Math.min(query.limit, MAX_DETAIL_PAGE));
    const offset = Math.max(0, query.offset);
    const page = await rows(db, config.id)
      .limit(limit + 1)
      .offset(offset)
      .all();
    counts.details = page.slice(0, limit).map((r) => ({
      namespace: orgName,
      repository: r.name,
      sync_status: r.status,
      last_sync: null,
      retries_remaining: r.retries,
      status_message: r.statusMessage,
    }));
    counts.pagination = { limit, offset, has_more: page.length > limit };
  }
  const discovery = { SYNCING: 2, SUCCESS: 1 } as Record<string, number>;
  return {
    healthy,
    workers: { active: 0, configured: 0, status: healthy ? "healthy" : "degraded" },
    organization: {
      syncing: config.syncStatus === "SYNCING" ? 1 : 0,
      completed: config.syncStatus === "SUCCESS" ? 1 : 0,
      failed: config.syncStatus === "FAIL" ? 1 : 0,
      never_run: config.syncStatus === "NEVER_RUN" ? 1 : 0,
      last_discovery_status: discovery[config.syncStatus] ?? 0,
      last_discovery_timestamp: formatSyncDate(config.syncStartDate),
      repositories: counts,
    },
    last_check: timestamp,
    issues,
  };
}
