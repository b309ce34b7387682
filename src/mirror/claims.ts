/**
 * Which mirrors are due, and the claim that lets one worker sync a repository at a time (Quay's
 * `get_eligible_mirrors`, `claim_mirror`, `release_mirror` in data/model/repo_mirror.py). A claim
 * is a conditional update on the claim token (`syncTransactionId`) the claimer read: of two
 * consumers that read the same row, one update applies and the other finds the token rolled and
 * gives up. The claim lasts {@link CLAIM_MS}; a sync that dies holding it (its queue invocation cut
 * off) is claimable again after that, as Quay's expired candidates are.
 */
import { and, asc, eq, isNull, lte, ne, or, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { repoMirrorConfigs, repositories } from "../db/schema";
import { TOMBSTONE_NAMESPACE } from "../registry/repository-deletion";
import { MAX_SYNC_RETRIES, type SyncStatus } from "./config-view";

/**
 * How long a claim holds. Quay allows 12 hours (MAX_SYNC_DURATION) for skopeo; one queue
 * consumer invocation ends after 15 minutes of wall time, so a claim older than this is lost.
 */
export const CLAIM_MS = 20 * 60 * 1000;
/** Mirrors queued per cron tick at most; the rest are found on the next ticks. */
export const DUE_BATCH = 100;

/** Quay's eligibility: sync-now, due and not running, or running past its claim; in state MIRROR. */
function eligible(nowMs: number) {
  const c = repoMirrorConfigs;
  const immediate = and(eq(c.syncStatus, "SYNC_NOW"), isNull(c.syncExpirationDate));
  const due = and(lte(c.syncStartDate, nowMs), sql`${c.syncRetriesRemaining} > 0`, eq(c.isEnabled, true));
  const ready = and(due, ne(c.syncStatus, "SYNCING"), isNull(c.syncExpirationDate));
  const expired = and(due, eq(c.syncStatus, "SYNCING"), lte(c.syncExpirationDate, nowMs));
  return and(
    eq(repositories.state, "MIRROR"),
    ne(repositories.namespace, TOMBSTONE_NAMESPACE),
    or(immediate, ready, expired),
  );
}

/** The repositories whose mirror is due at `nowMs`, oldest start first. */
export async function dueMirrors(db: Db, nowMs: number, limit = DUE_BATCH) {
  return db
    .select({ repositoryId: repositories.id, name: repositories.name })
    .from(repoMirrorConfigs)
    .innerJoin(repositories, eq(repositories.id, repoMirrorConfigs.repositoryId))
    .where(eligible(nowMs))
    .orderBy(asc(repoMirrorConfigs.syncStartDate))
    .limit(limit)
    .all();
}

/** Claims repository `repositoryId`'s mirror when it is eligible; the new claim token, or null. */
export async function claimMirror(db: Db, repositoryId: number, nowMs: number): Promise<string | null> {
  const row = await db
    .select({ token: repoMirrorConfigs.syncTransactionId })
    .from(repoMirrorConfigs)
    .innerJoin(repositories, eq(repositories.id, repoMirrorConfigs.repositoryId))
    .where(and(eq(repoMirrorConfigs.repositoryId, repositoryId), eligible(nowMs)))
    .get();
  if (!row) return null;
  const token = crypto.randomUUID();
  const claimed = await db
    .update(repoMirrorConfigs)
    .set({ syncStatus: "SYNCING", syncExpirationDate: nowMs + CLAIM_MS, syncTransactionId: token })
    .where(and(eq(repoMirrorConfigs.repositoryId, repositoryId), eq(repoMirrorConfigs.syncTransactionId, row.token)))
    .returning({ id: repoMirrorConfigs.id });
  return claimed.length > 0 ? token : null;
}

/** Whether the claim `token` still holds (a cancel, or a change through the API, rolls it). */
export async function claimHeld(db: Db, repositoryId: number, token: string): Promise<boolean> {
  const row = await db
    .select({ token: repoMirrorConfigs.syncTransactionId, status: repoMirrorConfigs.syncStatus })
    .from(repoMirrorConfigs)
    .where(eq(repoMirrorConfigs.repositoryId, repositoryId))
    .get();
  return row?.token === token && row.status === "SYNCING";
}

/** Whether the mirror was cancelled (Quay's `check_repo_mirror_sync_status(mirror) == CANCEL`). */
export async function cancelled(db: Db, repositoryId: number): Promise<boolean> {
  const row = await db
    .select({ status: repoMirrorConfigs.syncStatus })
    .from(repoMirrorConfigs)
    .where(eq(repoMirrorConfigs.repositoryId, repositoryId))
    .get();
  return row?.status === "CANCEL";
}

/** A mirror's schedule, as repository and organization mirrors store it. */
interface Schedule {
  syncRetriesRemaining: number;
  syncStartDate: number | null;
  syncInterval: number;
}

/**
 * The schedule after a run (Quay's `release_mirror`, `release_org_mirror_config`): SUCCESS schedules
 * the next run at the next whole interval after the start date and resets the retries; FAIL spends a
 * retry and keeps the start date (retried at the next tick) until none is left, then schedules as a
 * success would.
 */
export function scheduleAfterRun(row: Schedule, status: "SUCCESS" | "FAIL", nowMs: number) {
  let retries = row.syncRetriesRemaining;
  let next = row.syncStartDate;
  if (status === "FAIL") retries = Math.max(0, retries - 1);
  if (status === "SUCCESS" || retries < 1) {
    const intervalMs = row.syncInterval * 1000;
    const since = nowMs - (row.syncStartDate ?? nowMs);
    // An interval of 0 (Quay's schema allows it) means every tick.
    next = intervalMs > 0 ? nowMs + intervalMs - (((since % intervalMs) + intervalMs) % intervalMs) : nowMs;
    next = Math.floor(next / 1000) * 1000;
    retries = MAX_SYNC_RETRIES;
  }
  return { syncStartDate: next, syncRetriesRemaining: retries };
}

/** Quay's `release_mirror`: the row rescheduled by {@link scheduleAfterRun}, only while `token` holds. */
export async function releaseMirror(
  db: Db,
  repositoryId: number,
  token: string,
  status: Extract<SyncStatus, "SUCCESS" | "FAIL">,
  nowMs: number,
): Promise<boolean> {
  const row = await db.select().from(repoMirrorConfigs).where(eq(repoMirrorConfigs.repositoryId, repositoryId)).get();
  if (!row || row.syncTransactionId !== token) return false;
  const released = await db
    .update(repoMirrorConfigs)
    .set({
      syncStatus: status,
      ...scheduleAfterRun(row, status, nowMs),
      syncExpirationDate: null,
      syncTransactionId: crypto.randomUUID(),
    })
    .where(and(eq(repoMirrorConfigs.repositoryId, repositoryId), eq(repoMirrorConfigs.syncTransactionId, token)))
    .returning({ id: repoMirrorConfigs.id });
  return released.length > 0;
}
