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
import { CLAIM_MS, DUE_BATCH } from "./claims";
import { MAX_SYNC_RETRIES } from "./configs";

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
 * Quay's `release_org_mirror_config`: SUCCESS schedules the next discovery at the next whole
 * interval after the start date and resets the retries; FAIL spends a retry and keeps the start
 * date until none is left. `again`: repositories are left to create, so the next run is due now.
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
  let retries = row.syncRetriesRemaining;
  let next = row.syncStartDate;
  if (status === "FAIL") retries = Math.max(0, retries - 1);
  if (status === "SUCCESS" || retries < 1) {
    const intervalMs = row.syncInterval * 1000;
    const since = nowMs - (row.syncStartDate ?? nowMs);
    next = nowMs + intervalMs - (((since % intervalMs) + intervalMs) % intervalMs);
    next = Math.floor(next / 1000) * 1000;
    retries = MAX_SYNC_RETRIES;
  }
  if (again) next = nowMs;
  const released = await db
    .update(orgMirrorConfigs)
    .set({
      syncStatus: status,
      syncStartDate: next,
      syncExpirationDate: null,
      syncRetriesRemaining: retries,
      syncTransactionId: crypto.randomUUID(),
    })
    .where(and(eq(orgMirrorConfigs.id, id), eq(orgMirrorConfigs.syncTransactionId, token)))
    .returning({ id: orgMirrorConfigs.id });
  return released.length > 0;
}
