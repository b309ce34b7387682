/**
 * A namespace's storage quota (Quay's UserOrganizationQuota, data/model/namespacequota.py): at most
 * one per namespace, its size in bytes. Created, resized and removed by superusers (the routes
 * decide who); each change commits with its `org_…_quota` event. Its limits are ./quota-limits.ts;
 * what the API shows, ./quota-views.ts. Usage is not counted here (users.storage_bytes, kept exact
 * by the push path).
 */
import { and, asc, eq, sql } from "drizzle-orm";
import { invalid, notFound } from "../errors/domain";
import type { Db } from "../db/client";
import { namespaceQuotas, type NamespaceQuota, quotaLimits, type User } from "../db/schema";
import type { EventScope } from "../events/outbox";
import { commitWithEvents, namespaceEvent } from "../identity/account-events";
import { parseLimit } from "./byte-sizes";
import { commitWhilePresent, refusingDuplicate } from "./quota-commits";

/**
 * A requested size: `limit_bytes` as given, or a `limit` string already matched against Quay's
 * pattern. `shown` is how Quay's message would print it (`limit` reaches Quay as a float: "0.0").
 */
export interface RequestedSize {
  bytes: number;
  shown: string;
}

/** The size of `{limit_bytes}` or `{limit}`; `badLimit` is the route's words for a `limit` bitmath refuses. */
export function requestedSize(body: { limit_bytes?: number; limit?: string }, badLimit: string): RequestedSize | null {
  if (body.limit !== undefined) {
    const bytes = parseLimit(body.limit);
    if (bytes === null) throw invalid(badLimit);
    // Beyond what a quota can hold: Quay's DataError on the column.
    if (bytes > BigInt(Number.MAX_SAFE_INTEGER)) throw invalid("Unsupported quota size limit.");
    return { bytes: Number(bytes), shown: `${bytes}.0` };
  }
  if (body.limit_bytes !== undefined) return { bytes: body.limit_bytes, shown: String(body.limit_bytes) };
  return null;
}

/** Quay's `create_namespace_quota` / `update_namespace_quota_size` checks. */
function checkedSize(size: RequestedSize): number {
  if (size.bytes <= 0) throw invalid(`Invalid quota size limit value: '${size.shown}'`);
  if (!Number.isSafeInteger(size.bytes)) throw invalid("Unsupported quota size limit.");
  return size.bytes;
}

/** The namespace's quotas: none or one (Quay keeps a list). */
export function listQuotas(db: Db, namespace: User): Promise<NamespaceQuota[]> {
  return db
    .select()
    .from(namespaceQuotas)
    .where(eq(namespaceQuotas.namespaceId, namespace.id))
    .orderBy(asc(namespaceQuotas.id))
    .all();
}

/** Quay's `get_quota`: the namespace's quota `quotaId` (a path segment), else 404. */
export function findQuota(db: Db, namespace: User, quotaId: string): Promise<NamespaceQuota> {
  return byPathId(quotaId, (id) =>
    db
      .select()
      .from(namespaceQuotas)
      .where(and(eq(namespaceQuotas.id, id), eq(namespaceQuotas.namespaceId, namespace.id)))
      .get(),
  );
}

/**
 * The row `lookup` finds by the id in a path segment, else 404: also when the segment is not
 * digits that fit a row id (Quay's lookup then finds nothing).
 */
export async function byPathId<T>(text: string, lookup: (id: number) => Promise<T | undefined>): Promise<T> {
  const found = /^\d{1,15}$/.test(text) ? await lookup(Number(text)) : undefined;
  if (!found) throw notFound();
  return found;
}

/**
 * Sets the namespace's quota. `exists` is Quay's refusal when it has one already (the organization
 * endpoint and the superuser's word it differently); a concurrent creation loses on the unique index
 * with the same words.
 */
export async function createQuota(
  db: Db,
  namespace: User,
  size: RequestedSize,
  exists: string,
  events: EventScope,
): Promise<void> {
  if ((await listQuotas(db, namespace)).length > 0) throw invalid(exists);
  const limitBytes = checkedSize(size);
  const event = namespaceEvent("org_create_quota", namespace.username, events.origin, { limitBytes });
  await refusingDuplicate(exists, () =>
    commitWithEvents(
      db,
      events,
      [db.insert(namespaceQuotas).values({ namespaceId: namespace.id, limitBytes })],
      [event],
    ),
  );
}

const present = (quota: NamespaceQuota) => sql`exists (select 1 from namespace_quotas where id = ${quota.id})`;

/**
 * Resizes the quota (Quay's PUT: a size of 0 or none leaves it as it is). Returns the quota as it
 * now is; 404 when it was deleted meanwhile.
 */
export async function resizeQuota(
  db: Db,
  namespace: User,
  quota: NamespaceQuota,
  size: RequestedSize | null,
  events: EventScope,
): Promise<NamespaceQuota> {
  if (size === null || size.bytes === 0) return quota;
  const limitBytes = checkedSize(size);
  if (limitBytes === quota.limitBytes) return quota;
  const event = namespaceEvent("org_change_quota", namespace.username, events.origin, {
    quotaId: quota.id,
    limitBytes,
    previousLimitBytes: quota.limitBytes,
  });
  await commitWhilePresent(db, events, event, present(quota), [
    db.update(namespaceQuotas).set({ limitBytes }).where(eq(namespaceQuotas.id, quota.id)),
  ]);
  return { ...quota, limitBytes };
}

/** Removes the quota and its limits in one batch (Quay's `delete_namespace_quota`). */
export async function deleteQuota(db: Db, namespace: User, quota: NamespaceQuota, events: EventScope): Promise<void> {
  const event = namespaceEvent("org_delete_quota", namespace.username, events.origin, {
    quotaId: quota.id,
    limitBytes: quota.limitBytes,
  });
  await commitWhilePresent(db, events, event, present(quota), [
    db.delete(quotaLimits).where(eq(quotaLimits.quotaId, quota.id)),
    db.delete(namespaceQuotas).where(eq(namespaceQuotas.id, quota.id)),
  ]);
}
