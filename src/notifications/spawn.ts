/**
 * From committed events to queued deliveries (Quay's `spawn_notification`): the EVENTS consumer
 * hands every event here (src/events/subscribers.ts); a tag pushed (`push_repo` with a tag) is
 * Quay's `repo_push`, with `updated_tags` naming it, for each enabled `repo_push` notification of
 * the repository. A manifest pushed by digest updates no tag, and Quay notifies nothing for it.
 * A mirror sync's `repo_mirror_sync_started`, `_success` and `_failed` notify as Quay's events, and
 * a build's events Quay's five build events (./build-payloads.ts).
 * A scan's `vulnerability_found` (src/secscan/) notifies each vulnerability it names.
 * The test endpoint queues one sample delivery the same way. Only queueing happens here: the
 * requests are the NOTIFICATIONS consumer's (src/notifications/delivery.ts).
 */
import { readConfig } from "../config";
import { database } from "../db/client";
import type { RepositoryNotification } from "../db/schema";
import type { RegistryEvent } from "../events/catalogue";
import { queueDeliveries } from "./delivery";
import type { Delivery } from "./message";
import {
  type NotificationEventName,
  type RepositoryPlace,
  repositoryEventData,
  samplePayload,
  shouldNotify,
} from "./events";
import { enabledNotifications, type OpenNotification } from "./repository-notifications";
import { buildNotification } from "./build-payloads";

/**
 * The origin payloads name the registry by: SERVER_HOSTNAME and PREFERRED_URL_SCHEME when set (as
 * Quay), else the origin the notification was created from (delivery has no request to ask).
 */
export function payloadOrigin(env: Env, createdFrom: string): string {
  const config = readConfig(env);
  if (!config.SERVER_HOSTNAME) return createdFrom;
  const scheme = config.PREFERRED_URL_SCHEME || new URL(createdFrom).protocol.slice(0, -1);
  return `${scheme}://${config.SERVER_HOSTNAME}`;
}

/** Where payloads say the repository lives (see {@link payloadOrigin}). */
export function payloadPlace(env: Env, row: RepositoryNotification, repository: string): RepositoryPlace {
  return { origin: payloadOrigin(env, row.origin), repository };
}

function delivery(row: RepositoryNotification, event: NotificationEventName, payload: Record<string, unknown>) {
  return { id: crypto.randomUUID(), notification: row.uuid, event, payload } satisfies Delivery;
}

/**
 * Quay's `spawn_notification`: queues a delivery of `event` for each enabled notification of the
 * repository whose filters let it through, with Quay's repository fields and `extra`. Later issues
 * call it for the events they fire (vulnerability_found, the build and mirror events).
 */
export async function spawnNotifications(
  env: Env,
  repository: { id: number; name: string },
  event: NotificationEventName,
  extra: Record<string, unknown> | ((place: RepositoryPlace) => Record<string, unknown>),
  subpage = "",
): Promise<number> {
  return spawnEach(env, repository, event, [extra], subpage);
}

/** {@link spawnNotifications} of several payloads of one event (a scan's vulnerabilities, one each). */
async function spawnEach(
  env: Env,
  repository: { id: number; name: string },
  event: NotificationEventName,
  extras: readonly (Record<string, unknown> | ((place: RepositoryPlace) => Record<string, unknown>))[],
  subpage = "",
): Promise<number> {
  const rows = await enabledNotifications(database(env.DB), repository.id, event);
  const deliveries: Delivery[] = [];
  for (const row of rows) {
    const config = parseConfig(row.eventConfig);
    const place = payloadPlace(env, row, repository.name);
    for (const extra of extras) {
      const payload = repositoryEventData(place, typeof extra === "function" ? extra(place) : extra, subpage);
      if (shouldNotify(event, config, payload)) deliveries.push(delivery(row, event, payload));
    }
  }
  if (deliveries.length > 0) await queueDeliveries(env, deliveries);
  return deliveries.length;
}

function parseConfig(text: string): Record<string, unknown> {
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    return {};
  }
}

/**
 * The EVENTS consumer's subscriber: a tag pushed (`push_repo` with a tag) is Quay's `repo_push`; a
 * mirror sync's start, success and failure are Quay's mirror events, with its `{"message"}`
 * (workers/repomirrorworker `emit_log`).
 */
export async function notifyEvent(env: Env, event: RegistryEvent): Promise<void> {
  if (event.repository === null) return;
  if (
    event.kind === "repo_mirror_sync_started" ||
    event.kind === "repo_mirror_sync_success" ||
    event.kind === "repo_mirror_sync_failed"
  ) {
    await spawnNotifications(env, event.repository, event.kind, { message: event.data.message });
    return;
  }
  if (event.kind === "vulnerability_found") {
    // Quay's `vulnerability_found` names one vulnerability: one delivery each, most severe first,
    // each through the notification's `level` filter.
    const { tags } = event.data;
    const extras = event.data.vulnerabilities.map(({ id, description, link, priority, has_fix }) => ({
      tags,
      vulnerability: { id, description, link, priority, has_fix },
    }));
    await spawnEach(env, event.repository, "vulnerability_found", extras);
    return;
  }
  const build = buildNotification(event);
  if (build) {
    await spawnNotifications(env, event.repository, build.event, build.payload, `/build/${build.id}`);
    return;
  }
  if (event.kind !== "push_repo" || event.data.tag === null) return;
  await spawnNotifications(env, event.repository, "repo_push", { updated_tags: [event.data.tag] });
}

/** Queues a delivery of the event's sample payload (`POST …/notification/{uuid}/test`). */
export async function queueTestDelivery(env: Env, notification: OpenNotification, repository: string): Promise<void> {
  const { row, eventConfig } = notification;
  const event = row.event as NotificationEventName;
  await queueDeliveries(env, [
    delivery(row, event, samplePayload(event, payloadPlace(env, row, repository), eventConfig)),
  ]);
}
