/**
 * A superuser's changes to an organization's fair-use override (`fair_use_overrides`): each one D1
 * batch with its event (`set_namespace_fair_use`, `delete_namespace_fair_use`: an action-log entry
 * of the organization). This isolate forgets its copy of the overrides at once; the others read
 * the table again within OVERRIDES_TTL_MS (./overrides.ts).
 */
import { eq } from "drizzle-orm";
import type { Db } from "../db/client";
import { fairUseOverrides, type User } from "../db/schema";
import type { EventScope } from "../events/outbox";
import { commitWithEvents, namespaceEvent } from "../identity/account-events";
import { clock } from "../lib/clock";
import { forgetOverrides, type NamespaceOverride } from "./overrides";

/** The organization's override, or null when it has the defaults. */
export async function findOverride(db: Db, org: User): Promise<NamespaceOverride | null> {
  const row = await db
    .select({
      requestsPerMinute: fairUseOverrides.requestsPerMinute,
      pullBytesPerHour: fairUseOverrides.pullBytesPerHour,
    })
    .from(fairUseOverrides)
    .where(eq(fairUseOverrides.namespaceId, org.id))
    .get();
  return row ?? null;
}

/**
 * Sets the organization's override: the fields given replace the stored ones (absent: kept, or the
 * default when there was none). Returns the override as it now is.
 */
export async function setOverride(
  db: Db,
  org: User,
  change: Partial<NamespaceOverride>,
  events: EventScope,
): Promise<NamespaceOverride> {
  const previous = await findOverride(db, org);
  const next: NamespaceOverride = {
    requestsPerMinute:
      change.requestsPerMinute !== undefined ? change.requestsPerMinute : (previous?.requestsPerMinute ?? null),
    pullBytesPerHour:
      change.pullBytesPerHour !== undefined ? change.pullBytesPerHour : (previous?.pullBytesPerHour ?? null),
  };
  const event = namespaceEvent("set_namespace_fair_use", org.username, events.origin, { ...next, previous });
  await commitWithEvents(
    db,
    events,
    [
      db
        .insert(fairUseOverrides)
        .values({ namespaceId: org.id, ...next, updatedAt: clock.now() })
        .onConflictDoUpdate({ target: fairUseOverrides.namespaceId, set: { ...next, updatedAt: clock.now() } }),
    ],
    [event],
  );
  forgetOverrides();
  return next;
}

/** Removes the organization's override (the defaults apply again); false when it had none. */
export async function removeOverride(db: Db, org: User, events: EventScope): Promise<boolean> {
  const previous = await findOverride(db, org);
  if (!previous) return false;
  const event = namespaceEvent("delete_namespace_fair_use", org.username, events.origin, previous);
  await commitWithEvents(
    db,
    events,
    [db.delete(fairUseOverrides).where(eq(fairUseOverrides.namespaceId, org.id))],
    [event],
  );
  forgetOverrides();
  return true;
}
