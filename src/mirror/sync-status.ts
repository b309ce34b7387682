/**
 * Quay's sync-now and sync-cancel (`update_sync_status_to_sync_now`, `update_sync_status_to_cancel`
 * in data/model/repo_mirror.py): the status change with its `repo_mirror_config_changed`, in one
 * batch, the event written exactly when the change applies.
 */
import { and, eq, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { repoMirrorConfigs } from "../db/schema";
import type { RegistryEvent } from "../events/catalogue";
import type { EventOrigin, RepositoryRef } from "../events/envelope";
import { eventStatement } from "../events/outbox";
import { findMirror } from "./config-view";
import { configChanged } from "./configs";

/**
 * Quay's `update_sync_status_to_sync_now` (refused while SYNCING) and `update_sync_status_to_cancel`
 * (only while SYNCING or SYNC_NOW): false when the status does not allow it, Quay's 404.
 */
export async function changeSyncStatus(
  db: Db,
  repository: RepositoryRef,
  to: "SYNC_NOW" | "CANCEL",
  origin: EventOrigin,
  nowMs: number,
): Promise<{ changed: boolean; events: RegistryEvent[] }> {
  const row = await findMirror(db, repository.id);
  if (!row) return { changed: false, events: [] };
  const { config } = row;
  const allowed =
    to === "SYNC_NOW"
      ? config.syncStatus !== "SYNCING"
      : config.syncStatus === "SYNCING" || config.syncStatus === "SYNC_NOW";
  if (!allowed) return { changed: false, events: [] };
  // Quay logs a cancel as `to: "SYNC_CANCEL"`.
  const event = configChanged(repository, origin, "sync_status", to === "CANCEL" ? "SYNC_CANCEL" : to, nowMs);
  // Sync-now keeps the claim token rule; a cancel takes the row whoever holds it (Quay force-claims).
  const where =
    to === "SYNC_NOW"
      ? and(eq(repoMirrorConfigs.id, config.id), eq(repoMirrorConfigs.syncTransactionId, config.syncTransactionId))
      : and(eq(repoMirrorConfigs.id, config.id), sql`${repoMirrorConfigs.syncStatus} in ('SYNCING', 'SYNC_NOW')`);
  const set =
    to === "SYNC_NOW"
      ? { syncStatus: to, syncExpirationDate: null, syncRetriesRemaining: Math.max(config.syncRetriesRemaining, 1) }
      : { syncStatus: to, syncExpirationDate: null, syncRetriesRemaining: 0 };
  const [, updated] = await db.batch([
    eventStatement(db, event, { onlyIf: sql`exists (select 1 from ${repoMirrorConfigs} where ${where})` }),
    db
      .update(repoMirrorConfigs)
      .set({ ...set, syncTransactionId: crypto.randomUUID() })
      .where(where)
      .returning({ id: repoMirrorConfigs.id }),
  ]);
  return updated.length > 0 ? { changed: true, events: [event] } : { changed: false, events: [] };
}
