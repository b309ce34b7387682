/**
 * Delivering notifications (a repository's, or a namespace's: issue #16), on the NOTIFICATIONS queue (wrangler.toml), never on the
 * path of the change that caused them: a push commits and answers; its event reaches the EVENTS
 * consumer, which queues one delivery per enabled notification (src/notifications/spawn.ts); this
 * consumer performs them. A queue of its own rather than jobs on EVENTS: a webhook may take up to
 * NOTIFICATION_SEND_TIMEOUT (10 s), and the EVENTS consumer, which works through its batch in
 * order, would hold every other event and job behind it.
 *
 * As Quay's notification worker: a delivery that fails (a non-2xx answer, a timeout, an address
 * the outbound guard refuses) adds one to the notification's `number_of_failures` and is retried
 * with backoff; a success sets it back to 0; at 3 the notification is disabled: its deliveries are
 * dropped, and no new ones are queued, until `POST …/notification/{uuid}` resets it. What the
 * consumer cannot handle at all (D1 unreachable) is retried by the queue and, after its
 * max_retries, kept in the dead-letter queue. Both kinds of notification go through these same
 * steps; only the table their row and failure count live in differs (`delivery.scope`).
 */
import { metrics } from "../metrics/recorder";
import { eq, sql } from "drizzle-orm";
import { readConfig } from "../config";
import { database } from "../db/client";
import type { Db } from "../db/client";
import { namespaceNotifications, repositoryNotifications } from "../db/schema";
import { guardedFetch } from "../lib/outbound";
import { type Delivery, deliverySchema } from "./message";
import { loadNamespaceNotification } from "./namespace-notifications";
import { type PerformTarget, performMethod } from "./perform";
import { openNotification } from "./repository-notifications";
import { NOTIFICATION_MAX_FAILURES } from "./stored-notifications";
import { loggableError } from "../lib/loggable-error";

/** Seconds before the retry of a delivery that failed `attempts` times: 30 s, 2 min, 8 min… (at most 15 min). */
export function retryDelaySeconds(attempts: number): number {
  return Math.min(30 * 4 ** Math.max(0, attempts - 1), 900);
}

/** Queues `deliveries` (in the queue's batches of 100). */
export async function queueDeliveries(env: Env, deliveries: Delivery[]): Promise<void> {
  for (let i = 0; i < deliveries.length; i += 100) {
    await env.NOTIFICATIONS.sendBatch(deliveries.slice(i, i + 100).map((body) => ({ body })));
  }
}

/** `disabled`: it failed and that was its third failure in a row. */
type Outcome = "delivered" | "failed" | "disabled" | "dropped";

/** Where a delivery's notification lives: its row (opened), and its failure count's updates. */
interface NotificationStore {
  load(db: Db, env: Env, uuid: string): Promise<{ target: PerformTarget; failures: number } | undefined>;
  /** Adds one failure; the new count. */
  countFailure(db: Db, uuid: string): Promise<number>;
  clearFailures(db: Db, uuid: string): Promise<void>;
}

/** A notification table's failure count updates (both tables count them alike). */
function failureCounts(
  table: typeof repositoryNotifications | typeof namespaceNotifications,
): Pick<NotificationStore, "countFailure" | "clearFailures"> {
  return {
    async countFailure(db, uuid) {
      const row = await db
        .update(table)
        .set({ numberOfFailures: sql`${table.numberOfFailures} + 1` })
        .where(eq(table.uuid, uuid))
        .returning({ failures: table.numberOfFailures })
        .get();
      return row?.failures ?? NOTIFICATION_MAX_FAILURES;
    },
    async clearFailures(db, uuid) {
      await db.update(table).set({ numberOfFailures: 0 }).where(eq(table.uuid, uuid));
    },
  };
}

const repositoryStore: NotificationStore = {
  async load(db, env, uuid) {
    const row = await db.select().from(repositoryNotifications).where(eq(repositoryNotifications.uuid, uuid)).get();
    if (!row) return undefined;
    const { config } = await openNotification(env, row);
    return { target: { uuid, method: row.method, config }, failures: row.numberOfFailures };
  },
  ...failureCounts(repositoryNotifications),
};

const namespaceStore: NotificationStore = {
  async load(db, env, uuid) {
    const found = await loadNamespaceNotification(db, env, uuid);
    if (!found) return undefined;
    return { target: { uuid, method: found.row.method, config: found.config }, failures: found.row.numberOfFailures };
  },
  ...failureCounts(namespaceNotifications),
};

/** Performs one delivery and counts its outcome on the notification. */
export async function deliver(env: Env, delivery: Delivery): Promise<Outcome> {
  const db = database(env.DB);
  const store = delivery.scope === "namespace" ? namespaceStore : repositoryStore;
  const found = await store.load(db, env, delivery.notification);
  // Deleted since, or disabled: Quay's worker drops these too.
  if (!found || found.failures >= NOTIFICATION_MAX_FAILURES) return "dropped";
  const config = readConfig(env);
  const send = (url: string, body: unknown) =>
    guardedFetch(env, url, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
      timeoutMs: config.NOTIFICATION_SEND_TIMEOUT * 1000,
    });
  try {
    await performMethod({ env, db, config, notification: found.target, delivery, send });
  } catch (err) {
    metrics.count("wharf_notification_delivery_failures_total", { method: found.target.method });
    const failures = await store.countFailure(db, delivery.notification);
    console.error(
      JSON.stringify({
        msg: "notification delivery failed",
        notification: delivery.notification,
        scope: delivery.scope ?? "repository",
        failures,
        err: loggableError(err),
      }),
    );
    return failures >= NOTIFICATION_MAX_FAILURES ? "disabled" : "failed";
  }
  if (found.failures > 0) await store.clearFailures(db, delivery.notification);
  return "delivered";
}

/** wrangler.toml's `max_retries` of the notifications' consumer: a message's attempts are 1 + its retries. */
const NOTIFICATIONS_MAX_RETRIES = 10;

/** The NOTIFICATIONS consumer: its deliveries side by side, each retried or acknowledged on its own. */
export async function consumeNotifications(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  await Promise.all(
    batch.messages.map(async (message) => {
      const parsed = deliverySchema.safeParse(message.body);
      if (!parsed.success) {
        console.error(JSON.stringify({ msg: "malformed notification delivery dropped", id: message.id }));
        return message.ack();
      }
      let outcome: Outcome;
      try {
        outcome = await deliver(env, parsed.data as Delivery);
      } catch (err) {
        console.error(JSON.stringify({ msg: "notification delivery not run; retried", err: loggableError(err) }));
        // Its last attempt: the queue moves it to the dead-letter queue (/health/warning watches this).
        if (message.attempts > NOTIFICATIONS_MAX_RETRIES)
          metrics.count("wharf_queue_dead_lettered_total", { queue: batch.queue });
        return message.retry({ delaySeconds: retryDelaySeconds(message.attempts) });
      }
      if (outcome !== "failed") return message.ack();
      message.retry({ delaySeconds: retryDelaySeconds(message.attempts) });
    }),
  );
}
