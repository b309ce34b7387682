/**
 * Quay's namespace notifications (`endpoints/api/namespacenotification.py`, `data/model/
 * notification.py`): an organization's or user's own notifications on its quota events
 * (`quota_warning`, `quota_error`), by the repository notifications' methods (webhook, Slack,
 * in-app, email). Stored and delivered as repository notifications are: the method's config
 * sealed (it can hold a webhook token), failures counted by the one delivery consumer
 * (src/notifications/delivery.ts) and the notification disabled at NOTIFICATION_MAX_FAILURES until
 * reset. Each change emits Quay's log kind in the batch that commits it.
 */
import { and, asc, eq, sql } from "drizzle-orm";
import type { Config } from "../config";
import type { Db } from "../db/client";
import { type NamespaceNotification, namespaceNotifications, type User } from "../db/schema";
import { invalid, notFound } from "../errors/domain";
import { newEvent } from "../events/catalogue";
import type { EventScope } from "../events/outbox";
import { conditionalEvent, written } from "../identity/account-events";
import { invalidEventMessage, isNamespaceEvent, type NamespaceEventName } from "./namespace-events";
import { checkMethodConfig, isNotificationMethod } from "./methods";
import {
  insertNotificationWhere,
  NOTIFICATION_MAX_FAILURES,
  type NotificationInput,
  deleteOrResetNotification,
  newNotificationFields,
  notificationSummary,
  type OpenedNotification,
  openStoredNotification,
} from "./stored-notifications";

/** Notifications one namespace may have: a bound on each crossing's fan-out, as for a repository. */
export const MAX_NOTIFICATIONS_PER_NAMESPACE = 100;

type SecretEnv = { WHARF_SECRET_KEY?: string };

/** A namespace notification with its configs opened. */
export type OpenNamespaceNotification = OpenedNotification<NamespaceNotification>;

const open = (env: SecretEnv, row: NamespaceNotification): Promise<OpenNamespaceNotification> =>
  openStoredNotification(env, row);

const place = (namespace: User) => ({ namespace: namespace.username, repository: null });

/**
 * Creates a notification after Quay's checks, in its order: the event ("Invalid event '…'. Must be
 * one of: quota_error, quota_warning"), the method ("Unknown notification method '…'"), the
 * method's config. `origin` is the registry's public origin, which payloads name the namespace by.
 */
export async function createNamespaceNotification(
  db: Db,
  env: SecretEnv,
  config: Pick<Config, "WEBHOOK_HOSTNAME_BLACKLIST">,
  namespace: User,
  input: NotificationInput,
  origin: string,
  events: EventScope,
): Promise<OpenNamespaceNotification> {
  if (!isNamespaceEvent(input.event)) throw invalid(invalidEventMessage(input.event));
  if (!isNotificationMethod(input.method)) throw invalid(`Unknown notification method '${input.method}'`);
  await checkMethodConfig(db, config, input.method, { namespace: namespace.username }, input.config);
  const row = await newNotificationFields(env, input, origin);
  const event = newEvent("create_namespace_notification", place(namespace), events.origin, notificationSummary(row));
  const room = sql`(select count(*) from ${namespaceNotifications} where namespace_id = ${namespace.id}) < ${MAX_NOTIFICATIONS_PER_NAMESPACE}`;
  const [eventRow] = await db.batch([
    conditionalEvent(db, event, room),
    insertNotificationWhere(db, namespaceNotifications, namespace.id, row, event.at, room),
  ]);
  if (!written(eventRow))
    throw invalid(`A namespace may have at most ${MAX_NOTIFICATIONS_PER_NAMESPACE} notifications`);
  events.publish([event]);
  return requireNamespaceNotification(db, env, namespace, row.uuid);
}

/** The namespace's notifications, oldest first. */
export async function listNamespaceNotifications(db: Db, env: SecretEnv, namespace: User) {
  const rows = await db
    .select()
    .from(namespaceNotifications)
    .where(eq(namespaceNotifications.namespaceId, namespace.id))
    .orderBy(asc(namespaceNotifications.createdAt), asc(namespaceNotifications.uuid))
    .all();
  return Promise.all(rows.map((row) => open(env, row)));
}

const matching = (namespace: User, uuid: string) =>
  and(eq(namespaceNotifications.uuid, uuid), eq(namespaceNotifications.namespaceId, namespace.id));

/** The namespace's notification `uuid`; Quay's 404 when there is none (another namespace's too). */
export async function requireNamespaceNotification(
  db: Db,
  env: SecretEnv,
  namespace: User,
  uuid: string,
): Promise<OpenNamespaceNotification> {
  const row = await db.select().from(namespaceNotifications).where(matching(namespace, uuid)).get();
  if (!row) throw notFound();
  return open(env, row);
}

function changeNamespaceNotification(
  db: Db,
  namespace: User,
  uuid: string,
  kind: "delete_namespace_notification" | "reset_namespace_notification",
  events: EventScope,
): Promise<void> {
  return deleteOrResetNotification(
    db,
    namespaceNotifications,
    matching(namespace, uuid)!,
    kind === "reset_namespace_notification",
    (row) => newEvent(kind, place(namespace), events.origin, notificationSummary(row)),
    () => notFound(),
    events,
  );
}

/** Deletes the notification (Quay's 404 when there is none). */
export function deleteNamespaceNotification(db: Db, namespace: User, uuid: string, events: EventScope) {
  return changeNamespaceNotification(db, namespace, uuid, "delete_namespace_notification", events);
}

/** Sets its failures back to 0, enabling it again (Quay's 404 when there is none). */
export function resetNamespaceNotification(db: Db, namespace: User, uuid: string, events: EventScope) {
  return changeNamespaceNotification(db, namespace, uuid, "reset_namespace_notification", events);
}

/** The namespace's enabled notifications for `event`: those that failed fewer than 3 times. */
export async function enabledNamespaceNotifications(
  db: Db,
  namespaceId: number,
  event: NamespaceEventName,
): Promise<NamespaceNotification[]> {
  return db
    .select()
    .from(namespaceNotifications)
    .where(
      and(
        eq(namespaceNotifications.namespaceId, namespaceId),
        eq(namespaceNotifications.event, event),
        sql`${namespaceNotifications.numberOfFailures} < ${NOTIFICATION_MAX_FAILURES}`,
      ),
    )
    .limit(MAX_NOTIFICATIONS_PER_NAMESPACE)
    .all();
}

/** A notification by its uuid alone, with its configs opened (the delivery consumer's lookup). */
export async function loadNamespaceNotification(db: Db, env: SecretEnv, uuid: string) {
  const row = await db.select().from(namespaceNotifications).where(eq(namespaceNotifications.uuid, uuid)).get();
  return row && open(env, row);
}
