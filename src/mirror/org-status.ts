/**
 * An organization mirror's deletion and its sync-now and cancel (Quay's
 * `delete_org_mirror_config`, `update_sync_status_to_sync_now`, `update_sync_status_to_cancel` in
 * data/model/org_mirror.py), each one D1 batch with its event.
 */
import { and, eq, inArray, ne, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { orgMirrorConfigs, orgMirrorRepositories, repoMirrorConfigs } from "../db/schema";
import { invalid } from "../errors/domain";
import type { RegistryEvent } from "../events/catalogue";
import type { EventOrigin } from "../events/envelope";
import { eventStatement } from "../events/outbox";
import { type Organization, type OrgMirrorRow, orgEvent, sourceReference } from "./org-configs";

/**
 * Quay's `delete_org_mirror_config` (its discovered repositories go with it) and
 * `org_mirror_disabled`. The repositories it created stay, as in Quay; their repository mirrors
 * are disabled in the same batch, since in Quay they were synced only through the organization's
 * mirror. False when it was deleted meanwhile.
 */
export async function deleteOrgMirror(
  db: Db,
  org: Organization,
  row: OrgMirrorRow,
  origin: EventOrigin,
  nowMs: number,
): Promise<{ deleted: boolean; events: RegistryEvent[] }> {
  const event = orgEvent(
    "org_mirror_disabled",
    org,
    origin,
    { external_reference: sourceReference(row.config) },
    nowMs,
  );
  const where = eq(orgMirrorConfigs.id, row.config.id);
  const created = db
    .select({ id: orgMirrorRepositories.repositoryId })
    .from(orgMirrorRepositories)
    .where(eq(orgMirrorRepositories.orgMirrorId, row.config.id));
  const [, , deleted] = await db.batch([
    eventStatement(db, event, { onlyIf: sql`exists (select 1 from ${orgMirrorConfigs} where ${where})` }),
    db.update(repoMirrorConfigs).set({ isEnabled: false }).where(inArray(repoMirrorConfigs.repositoryId, created)),
    db.delete(orgMirrorConfigs).where(where).returning({ id: orgMirrorConfigs.id }),
  ]);
  return deleted.length > 0 ? { deleted: true, events: [event] } : { deleted: false, events: [] };
}

/**
 * Quay's `update_sync_status_to_sync_now` (refused while SYNCING; start now, at least one retry,
 * on the claim token read) and `update_sync_status_to_cancel` (refused when already CANCEL; forced,
 * whoever holds the claim, retries 0), each with its event. Quay's 400 message when refused.
 */
export async function changeOrgSyncStatus(
  db: Db,
  org: Organization,
  row: OrgMirrorRow,
  to: "SYNC_NOW" | "CANCEL",
  origin: EventOrigin,
  nowMs: number,
): Promise<RegistryEvent[]> {
  const { config } = row;
  const refused =
    to === "SYNC_NOW"
      ? "Cannot trigger sync: mirror is currently syncing"
      : "Cannot cancel: mirror is already cancelled";
  const kind = to === "SYNC_NOW" ? "org_mirror_sync_now_requested" : "org_mirror_sync_cancelled";
  const where =
    to === "SYNC_NOW"
      ? and(
          eq(orgMirrorConfigs.id, config.id),
          eq(orgMirrorConfigs.syncTransactionId, config.syncTransactionId),
          ne(orgMirrorConfigs.syncStatus, "SYNCING"),
        )
      : and(eq(orgMirrorConfigs.id, config.id), ne(orgMirrorConfigs.syncStatus, "CANCEL"));
  const set =
    to === "SYNC_NOW"
      ? {
          syncStatus: to,
          syncStartDate: nowMs,
          syncExpirationDate: null,
          syncRetriesRemaining: Math.max(config.syncRetriesRemaining, 1),
        }
      : { syncStatus: to, syncExpirationDate: null, syncRetriesRemaining: 0 };
  const event = orgEvent(kind, org, origin, { external_reference: sourceReference(config) }, nowMs);
  const [, updated] = await db.batch([
    eventStatement(db, event, { onlyIf: sql`exists (select 1 from ${orgMirrorConfigs} where ${where})` }),
    db
      .update(orgMirrorConfigs)
      .set({ ...set, syncTransactionId: crypto.randomUUID() })
      .where(where)
      .returning({ id: orgMirrorConfigs.id }),
  ]);
  if (updated.length === 0) throw invalid(refused);
  return [event];
}
