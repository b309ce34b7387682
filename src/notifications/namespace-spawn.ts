/**
 * What a quota crossing produces (issue #16: "crossing a Warning limit notifies (event, in-app
 * notification, mail)"). Quota-enforce emits `quota_warning` or `quota_error` once per crossing
 * (src/events/quota-catalogue.ts); the EVENTS consumer hands it here (src/events/subscribers.ts):
 * - an in-app notification of Quay's kind (`quota_warning`, `quota_error`: Quay's
 *   `notify_organization_admins`) for each administrator of the namespace, with the namespace and
 *   the crossing's figures as metadata;
 * - a mail to each of them (src/notifications/mails.ts), with FEATURE_MAILING on, to verified
 *   addresses;
 * - with FEATURE_QUOTA_NOTIFICATIONS on, a delivery of Quay's namespace event data to each enabled
 *   namespace notification of that event (Quay's `spawn_namespace_notification`), performed by the
 *   one delivery consumer (src/notifications/delivery.ts) as repository notifications are.
 * The consumer may hand the same event again (a retry): in-app rows are keyed by the event and the
 * user, so a repeat writes none, and a mail goes only with a row newly written.
 */
import { readConfig } from "../config";
import { database } from "../db/client";
import { type User, userNotifications } from "../db/schema";
import type { RegistryEvent } from "../events/catalogue";
import { mailerFor } from "../mail/quay-mails";
import { queueDeliveries } from "./delivery";
import type { Delivery } from "./message";
import { mailQuotaCrossing } from "./mails";
import { administratorsOf, findNamespace } from "./namespace-admins";
import {
  crossingFields,
  type NamespaceEventName,
  namespaceEventData,
  namespaceEventSummary,
  namespaceSamplePayload,
} from "./namespace-events";
import { enabledNamespaceNotifications, type OpenNamespaceNotification } from "./namespace-notifications";
import { inAppUuid } from "./perform";
import { payloadOrigin } from "./spawn";

/** The public origin when SERVER_HOSTNAME says it; null otherwise (no request to ask). */
function configuredOrigin(env: Env): string | null {
  const config = readConfig(env);
  if (!config.SERVER_HOSTNAME) return null;
  return `${config.PREFERRED_URL_SCHEME || "https"}://${config.SERVER_HOSTNAME}`;
}

/** Writes each admin's in-app notification once; the admins whose row is new. */
async function leaveInAppNotices(
  env: Env,
  event: RegistryEvent<NamespaceEventName>,
  admins: User[],
  metadata: Record<string, unknown>,
): Promise<User[]> {
  const db = database(env.DB);
  const fresh: User[] = [];
  for (const admin of admins) {
    const written = await db
      .insert(userNotifications)
      .values({
        uuid: await inAppUuid(event.id, admin.id),
        userId: admin.id,
        kind: event.kind,
        // Quay writes these for each admin as the target, so its view shows no organization.
        organization: null,
        metadata: JSON.stringify(metadata),
        createdAt: event.at,
      })
      .onConflictDoNothing()
      .returning({ uuid: userNotifications.uuid });
    if (written.length > 0) fresh.push(admin);
  }
  return fresh;
}

/** Queues the event's delivery to each enabled namespace notification of it; how many. */
async function spawnNamespaceNotifications(
  env: Env,
  namespace: User,
  event: NamespaceEventName,
  fields: Record<string, unknown>,
): Promise<number> {
  const rows = await enabledNamespaceNotifications(database(env.DB), namespace.id, event);
  const deliveries: Delivery[] = rows.map((row) => ({
    id: crypto.randomUUID(),
    notification: row.uuid,
    scope: "namespace",
    event,
    payload: namespaceEventData(payloadOrigin(env, row.origin), namespace.username, fields),
  }));
  if (deliveries.length > 0) await queueDeliveries(env, deliveries);
  return deliveries.length;
}

/** The EVENTS consumer's subscriber: a quota crossing notifies the namespace's administrators. */
export async function notifyQuotaCrossing(env: Env, event: RegistryEvent): Promise<void> {
  if ((event.kind !== "quota_warning" && event.kind !== "quota_error") || event.namespace === null) return;
  const db = database(env.DB);
  const namespace = await findNamespace(db, event.namespace);
  if (!namespace) return;
  const fields = crossingFields(event.data);
  const origin = configuredOrigin(env);
  const payload = origin
    ? namespaceEventData(origin, namespace.username, fields)
    : { namespace: namespace.username, ...fields };
  const fresh = await leaveInAppNotices(env, event, await administratorsOf(db, namespace), payload);
  const mailer = mailerFor(env, origin ?? "");
  if (mailer) {
    const summary = namespaceEventSummary(event.kind, payload);
    for (const admin of fresh) {
      if (admin.email && admin.verified)
        await mailQuotaCrossing(mailer, admin.email, { summary, error: event.kind === "quota_error", payload });
    }
  }
  if (readConfig(env).FEATURE_QUOTA_NOTIFICATIONS)
    await spawnNamespaceNotifications(env, namespace, event.kind, fields);
}

/** Queues a delivery of Quay's sample data for the notification (`POST …/notifications/{uuid}/test`). */
export async function queueNamespaceTestDelivery(
  env: Env,
  notification: OpenNamespaceNotification,
  namespace: string,
): Promise<void> {
  const { row } = notification;
  const event = row.event as NamespaceEventName;
  await queueDeliveries(env, [
    {
      id: crypto.randomUUID(),
      notification: row.uuid,
      scope: "namespace",
      event,
      payload: namespaceSamplePayload(event, payloadOrigin(env, row.origin), namespace),
    },
  ]);
}
