/**
 * What repository notifications and namespace notifications (Quay `data/model/notification.py`:
 * both are `RepositoryNotification`-like rows) store and show alike: the method's config sealed at
 * rest (it can hold a Slack URL or a webhook token) and opened for the admins who read it back,
 * Quay's notification JSON, the failures that disable one, and the summary their events carry.
 */
import { type SQL, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import type { RegistryEvent } from "../events/catalogue";
import type { EventScope } from "../events/outbox";
import { conditionalEvent, written } from "../identity/account-events";
import type { namespaceNotifications, repositoryNotifications } from "../db/schema";
import { decryptSecret, encryptSecret } from "../identity/secrets";

/** Failed deliveries after which a notification is disabled (Quay's notification worker: 3). */
export const NOTIFICATION_MAX_FAILURES = 3;

type SecretEnv = { WHARF_SECRET_KEY?: string };

/** Quay's `NotificationCreateRequest`, as the routes validated it. */
export interface NotificationInput {
  event: string;
  method: string;
  config: Record<string, unknown>;
  eventConfig: Record<string, unknown>;
  title?: string | null;
}

/** A stored notification with its configs opened. */
export interface OpenedNotification<Row> {
  row: Row;
  config: Record<string, unknown>;
  eventConfig: Record<string, unknown>;
}

interface ViewedRow {
  uuid: string;
  title: string | null;
  event: string;
  method: string;
  numberOfFailures: number;
}

/** Quay's notification JSON (`RepositoryNotification.to_dict`, `_notification_view`; the seeds show it). */
export function notificationView({ row, config, eventConfig }: OpenedNotification<ViewedRow>) {
  return {
    uuid: row.uuid,
    title: row.title,
    event: row.event,
    method: row.method,
    config,
    event_config: eventConfig,
    number_of_failures: row.numberOfFailures,
  };
}

/** An object from stored JSON; anything else (bad JSON, an array) reads as empty, as Quay reads bad JSON. */
function objectOf(text: string | null): Record<string, unknown> {
  try {
    const value = text === null ? {} : JSON.parse(text);
    return value !== null && typeof value === "object" && !Array.isArray(value) ? value : {};
  } catch {
    return {};
  }
}

/** The row with its configs as objects; a config that no longer opens (a rotated key) reads as empty. */
export async function openStoredNotification<Row extends { sealedConfig: string; eventConfig: string }>(
  env: SecretEnv,
  row: Row,
): Promise<OpenedNotification<Row>> {
  return { row, config: objectOf(await decryptSecret(env, row.sealedConfig)), eventConfig: objectOf(row.eventConfig) };
}

/** A new notification's stored columns, its owner's aside: a fresh uuid and the method's config sealed. */
export async function newNotificationFields(env: SecretEnv, input: NotificationInput, origin: string) {
  return {
    uuid: crypto.randomUUID(),
    event: input.event,
    method: input.method,
    title: input.title ?? null,
    sealedConfig: await encryptSecret(env, JSON.stringify(input.config)),
    eventConfig: JSON.stringify(input.eventConfig),
    origin,
  };
}

/** What a notification's events (create, delete, reset) say of it. */
export const notificationSummary = (row: { uuid: string; event: string; method: string }) => ({
  notification: { uuid: row.uuid, event: row.event, method: row.method },
});

type Fields = Awaited<ReturnType<typeof newNotificationFields>>;
type NotificationTable = typeof repositoryNotifications | typeof namespaceNotifications;

/**
 * Inserts the notification owned by `ownerId` (a repository's or a namespace's id, the table's
 * second column) only where `room` holds, so the bound on their number is checked in the batch
 * itself and concurrent creations cannot pass it together.
 */
export function insertNotificationWhere(
  db: Db,
  table: NotificationTable,
  ownerId: number,
  row: Fields,
  createdAt: number,
  room: SQL,
) {
  return db.insert(table).select(
    sql`select ${row.uuid}, ${ownerId}, ${row.event}, ${row.method}, ${row.title}, ${row.sealedConfig},
        ${row.eventConfig}, 0, ${row.origin}, ${createdAt}
        where ${room}`,
  );
}

/**
 * Deletes the notification `where` names in `table`, or sets its failures back to 0 (`reset`), with
 * the event `eventOf` makes of it. The event is written only if the notification is still there
 * when the batch runs; `missing` is the owner's refusal when it is not (Quay's 404 or 400).
 */
export async function deleteOrResetNotification(
  db: Db,
  table: NotificationTable,
  where: SQL,
  reset: boolean,
  eventOf: (row: { uuid: string; event: string; method: string }) => RegistryEvent,
  missing: () => Error,
  events: EventScope,
): Promise<void> {
  const row = await db.select().from(table).where(where).get();
  if (!row) throw missing();
  const event = eventOf(row);
  const change = reset ? db.update(table).set({ numberOfFailures: 0 }).where(where) : db.delete(table).where(where);
  const present = sql`exists (select 1 from ${table} where ${where})`;
  const [eventRow] = await db.batch([conditionalEvent(db, event, present), change]);
  if (!written(eventRow)) throw missing();
  events.publish([event]);
}
