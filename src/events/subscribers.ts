/**
 * Who hears about events: the EVENTS consumer (src/queues/consumer.ts) hands each event, once per
 * id, to every subscriber here, in order. Today the Worker's structured log (Workers Logs,
 * `wrangler tail`) and repository notifications; action logs and the live stream join this list. A subscriber
 * that throws has the event retried (every subscriber sees it again: they must tolerate repeats).
 */
import { notifyEvent } from "../notifications/spawn";
import type { RegistryEvent } from "./catalogue";

export type Subscriber = (env: Env, event: RegistryEvent) => Promise<void> | void;

/** One structured log line per event. */
const logEvent: Subscriber = (_env, event) => {
  console.log(JSON.stringify({ msg: "registry event", ...event }));
};

/** Repository notifications: a pushed tag queues its `repo_push` deliveries (src/notifications/spawn.ts). */
const notify: Subscriber = (env, event) => notifyEvent(env, event);

const SUBSCRIBERS: readonly Subscriber[] = [logEvent, notify];

/** Hands `event` to every subscriber in turn; the first failure propagates. */
export async function deliverEvent(env: Env, event: RegistryEvent): Promise<void> {
  for (const subscriber of SUBSCRIBERS) await subscriber(env, event);
}
