/**
 * Which organization mirrors are due for discovery, and the claim that lets one run discover an
 * organization's repositories at a time (Quay's `get_eligible_org_mirror_configs`,
 * `claim_org_mirror_config`, `release_org_mirror_config` in data/model/org_mirror.py), on the claim
 * token as src/mirror/claims.ts claims repository mirrors. A cancelled mirror is not due: its
 * cancel is carried out by the job the cancel queued (src/mirror/org-sync.ts).
 */
import { and, asc, eq, isNull, lte, ne, or, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { orgMirrorConfigs } from "../db/schema";
import { CLAIM_MS, DUE_BATCH, scheduleAfterRun } from "./claims";

/** Quay's eligibility: sync-now, due and not running, or running past its claim; enabled. */
function eligible(nowMs: number) {
  const c = orgMirrorConfigs;
  const immediate = and(eq(c.syncStatus, "SYNC_NOW"), isNull(c.syncExpirationDate));
  const due = and(lte(c.syncStartDate, nowMs), sql`${c.syncRetriesRemaining} > 0`);
  const ready = and(due, ne(c.syncStatus, "SYNCING"), ne(c.syncStatus, "CANCEL"), isNull(c.syncExpirationDate));
  const expired = and(due, eq(c.syncStatus, "SYNCING"), lte(c.syncExpirationDate, nowMs));
  return and(eq(c.isEnabled, true), or(immediate, ready, expired));
}

/** The organization mirrors due at `nowMs`, oldest start first. */
export async function dueOrgMirrors(db: Db, nowMs: number, limit = DUE_BATCH) {
  return db
    .select({ id: orgMirrorConfigs.id })
    .from(orgMirrorConfigs)
    .where(eligible(nowMs))
    .orderBy(asc(orgMirrorConfigs.syncStartDate))
    .limit(limit)
    .all();
}

/** Claims organization mirror `id` when it is eligible; the new claim token, or null. */
export async function claimOrgMirror(db: Db, id: number, nowMs: number): Promise<string | null> {
  const row = await db
    .select({ token: orgMirrorConfigs.syncTransactionId })
    .from(orgMirrorConfigs)
    .where(and(eq(orgMirrorConfigs.id, id), eligible(nowMs)))
    .get();
  if (!row) return null;
  const token = crypto.randomUUID();
  const claimed = await db
    .update(orgMirrorConfigs)
    .set({ syncStatus: "SYNCING", syncExpirationDate: nowMs + CLAIM_MS, syncTransactionId: token })
    .where(and(eq(orgMirrorConfigs.id, id), eq(orgMirrorConfigs.syncTransactionId, row.token)))
    .returning({ id: orgMirrorConfigs.id });
  return claimed.length > 0 ? token : null;
}

/**
 * Quay's `release_org_mirror_config`: the row rescheduled as a repository mirror is
 * ({@link scheduleAfterRun}; the API holds the interval to 60 s or more), only while `token` holds.
 * `again`: repositories are left to create, so the next run is due now.
 */
export async function releaseOrgMirror(
  db: Db,
  id: number,
  token: string,
  status: "SUCCESS" | "FAIL",
  nowMs: number,
  again = false,
): Promise<boolean> {
  const row = await db.select().from(orgMirrorConfigs).where(eq(orgMirrorConfigs.id, id)).get();
  if (!row || row.syncTransactionId !== token) return false;
  const schedule = scheduleAfterRun(row, status, nowMs);
  if (again) schedule.syncStartDate = nowMs;
  const released = await db
    .update(orgMirrorConfigs)
    .set({ syncStatus: status, ...schedule, syncExpirationDate: null, syncTransactionId: crypto.randomUUID() })
    .where(and(eq(orgMirrorConfigs.id, id), eq(orgMirrorConfigs.syncTransactionId, token)))
    .returning({ id: orgMirrorConfigs.id });
  return released.length > 0;
}
