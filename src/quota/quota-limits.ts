/**
 * A quota's limits (Quay's QuotaLimits, data/model/namespacequota.py): `Warning` (notify) and
 * `Reject` (refuse pushes) thresholds in percent of the quota, 1 to 100, at most one Reject. Each
 * change commits with its `org_…_quota_limit` event.
 *
 * Where Quay fails with a 500 (an unknown type or a threshold out of range while it looks for a
 * duplicate, a limit of another quota) Wharf answers the 400 or 404 Quay's model means. Quay's
 * create checks "one Reject" only against a Reject of the same threshold (so a second Reject with
 * another threshold slips through); Wharf refuses any second Reject, with Quay's words, on create and
 * on a change of type, as the table's index does.
 */
import { and, asc, eq, sql } from "drizzle-orm";
import { invalid } from "../errors/domain";
import type { Db } from "../db/client";
import { type NamespaceQuota, type QuotaLimit, quotaLimits, type User } from "../db/schema";
import type { EventScope } from "../events/outbox";
import { commitWithEvents, namespaceEvent } from "../identity/account-events";
import { commitWhilePresent, refusingDuplicate } from "./quota-commits";
import { byPathId } from "./quotas";

export type LimitType = QuotaLimit["type"];

const ONE_REJECT = "Only one quota limit of type 'Reject' allowed.";

/** Quay's `_quota_type`: the name in any case. */
export function limitType(name: string): LimitType {
  switch (name.toLowerCase()) {
    case "warning":
      return "Warning";
    case "reject":
      return "Reject";
    default:
      throw invalid("Quota type must be one of [Warning, Reject]");
  }
}

/** Quay's threshold check: above 0, at most 100. */
export function thresholdPercent(value: number): number {
  if (!(value > 0 && value <= 100)) throw invalid("Quota limit threshold must be between 1 and 100");
  return value;
}

/** The quota's limits, oldest first. */
export function listLimits(db: Db, quota: NamespaceQuota): Promise<QuotaLimit[]> {
  return db.select().from(quotaLimits).where(eq(quotaLimits.quotaId, quota.id)).orderBy(asc(quotaLimits.id)).all();
}

/** The quota's limit `limitId` (a path segment), else 404. */
export function findLimit(db: Db, quota: NamespaceQuota, limitId: string): Promise<QuotaLimit> {
  return byPathId(limitId, (id) =>
    db
      .select()
      .from(quotaLimits)
      .where(and(eq(quotaLimits.id, id), eq(quotaLimits.quotaId, quota.id)))
      .get(),
  );
}

/** Adds a limit: Quay refuses one equal to an existing one, then a second Reject. */
export async function createLimit(
  db: Db,
  namespace: User,
  quota: NamespaceQuota,
  wanted: { type: string; threshold_percent: number },
  events: EventScope,
): Promise<void> {
  // Quay checks a non-zero threshold, then the type, then a zero threshold.
  if (wanted.threshold_percent !== 0) thresholdPercent(wanted.threshold_percent);
  const type = limitType(wanted.type);
  const percent = thresholdPercent(wanted.threshold_percent);
  const existing = await listLimits(db, quota);
  if (existing.some((l) => l.type === type && l.thresholdPercent === percent))
    throw invalid("Quota limit already exists");
  if (type === "Reject" && existing.some((l) => l.type === "Reject")) throw invalid(ONE_REJECT);
  const event = namespaceEvent("org_create_quota_limit", namespace.username, events.origin, {
    quotaId: quota.id,
    type,
    thresholdPercent: percent,
  });
  await refusingDuplicate(ONE_REJECT, () =>
    commitWithEvents(
      db,
      events,
      [db.insert(quotaLimits).values({ quotaId: quota.id, type, thresholdPercent: percent })],
      [event],
    ),
  );
}

const present = (limit: QuotaLimit) => sql`exists (select 1 from quota_limits where id = ${limit.id})`;

/** Changes a limit's type and/or threshold (either may be absent), both checked before anything is written. */
export async function changeLimit(
  db: Db,
  namespace: User,
  quota: NamespaceQuota,
  limit: QuotaLimit,
  wanted: { type?: string; threshold_percent?: number },
  events: EventScope,
): Promise<void> {
  const type = wanted.type === undefined ? limit.type : limitType(wanted.type);
  const percent =
    wanted.threshold_percent === undefined ? limit.thresholdPercent : thresholdPercent(wanted.threshold_percent);
  if (type === limit.type && percent === limit.thresholdPercent) return;
  if (type === "Reject" && limit.type !== "Reject") {
    const others = await listLimits(db, quota);
    if (others.some((l) => l.type === "Reject")) throw invalid(ONE_REJECT);
  }
  const event = namespaceEvent("org_change_quota_limit", namespace.username, events.origin, {
    quotaId: quota.id,
    limitId: limit.id,
    type,
    thresholdPercent: percent,
    previousType: limit.type,
    previousThresholdPercent: limit.thresholdPercent,
  });
  await refusingDuplicate(ONE_REJECT, () =>
    commitWhilePresent(db, events, event, present(limit), [
      db.update(quotaLimits).set({ type, thresholdPercent: percent }).where(eq(quotaLimits.id, limit.id)),
    ]),
  );
}

export async function deleteLimit(
  db: Db,
  namespace: User,
  quota: NamespaceQuota,
  limit: QuotaLimit,
  events: EventScope,
): Promise<void> {
  const event = namespaceEvent("org_delete_quota_limit", namespace.username, events.origin, {
    quotaId: quota.id,
    limitId: limit.id,
    type: limit.type,
    thresholdPercent: limit.thresholdPercent,
  });
  await commitWhilePresent(db, events, event, present(limit), [
    db.delete(quotaLimits).where(eq(quotaLimits.id, limit.id)),
  ]);
}
