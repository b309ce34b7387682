/**
 * Who hears about events: the EVENTS consumer (src/queues/consumer.ts) hands each event, once per
 * id, to every subscriber here, in order. Today the Worker's structured log (Workers Logs,
 * `wrangler tail`), the action logs, repository notifications and what a quota crossing produces.
 * A subscriber
 * that throws has the event retried (every subscriber sees it again: they must tolerate repeats).
 */
import { copyNamespaceSettings } from "../db/core-shadows";
import { notifyQuotaCrossing } from "../notifications/namespace-spawn";
import { notifyEvent } from "../notifications/spawn";
import type { RegistryEvent } from "./catalogue";
import { writeActionLog } from "./logs-writer";

export type Subscriber = (env: Env, event: RegistryEvent) => Promise<void> | void;

/** One structured log line per event. */
const logEvent: Subscriber = (_env, event) => {
  console.log(JSON.stringify({ msg: "registry event", ...event }));
};

/** Quay's action logs (src/events/logs-writer.ts), keyed by the event id: repeats write nothing. */
const actionLog: Subscriber = writeActionLog;

/** Repository notifications: a pushed tag queues its `repo_push` deliveries (src/notifications/spawn.ts). */
const notify: Subscriber = (env, event) => notifyEvent(env, event);

/**
 * A quota crossing (`quota_warning`, `quota_error`): in-app notifications and mail to the
 * namespace's administrators, and its namespace notifications (src/notifications/namespace-spawn.ts).
 */
const quotaCrossing: Subscriber = (env, event) => notifyQuotaCrossing(env, event);

/**
 * A namespace's time-machine window changed in `DB`: its copy on the namespace's core shard follows
 * (docs/sharding-the-registry-core.md §5; src/db/core-shadows.ts). The event's outbox row makes it
 * happen at least once; a missed copy is also repaired by the shard's next shadow ensure for a
 * write (src/registry/core-db.ts) and by the rolling storage recount (src/gc/storage.ts).
 */
const namespaceShadow: Subscriber = async (env, event) => {
  if (event.kind !== "user_change_tag_expiration" && event.kind !== "org_change_tag_expiration") return;
  if (event.namespace !== null) await copyNamespaceSettings(env, event.namespace);
};

const SUBSCRIBERS: readonly Subscriber[] = [logEvent, actionLog, notify, quotaCrossing, namespaceShadow];

/** Hands `event` to every subscriber in turn; the first failure propagates. */
export async function deliverEvent(env: Env, event: RegistryEvent): Promise<void> {
  for (const subscriber of SUBSCRIBERS) await subscriber(env, event);
}
